// Starting a supervisor from a banger command: spawned detached (own session,
// stdio to STATE_DIR/supervisor.log), then waited on until it reports the VM
// ready or failed, so the command can print the failure and exit.
#pragma once

#include <chrono>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace banger::supervisor {

// The banger binary that runs supervisors: $BANGER_BIN, else this
// executable when it is banger, else `banger` beside it or one level up.
std::string banger_binary();

// Spawns `banger __supervise spec_path` and waits (at most `timeout`) for its
// status. Returns the VM info on success; throws the reported error (or one
// with the log's tail) on failure, after making sure the supervisor is gone.
nlohmann::json spawn(const std::string& spec_path, const std::string& log_path, std::chrono::seconds timeout);

// The same in two steps, so that several VMs start at once (vm fork): start
// spawns the supervisor, wait is spawn's wait. One not waited for runs on.
class Launch {
 public:
  static Launch start(const std::string& spec_path, const std::string& log_path);
  Launch(Launch&& other) noexcept;
  Launch& operator=(Launch&&) = delete;
  Launch(const Launch&) = delete;
  ~Launch();
  nlohmann::json wait(std::chrono::seconds timeout);

 private:
  Launch() = default;
  int status_fd_ = -1;
  std::string log_path_;
};

// Kills `pid` if it is a VMM of the VM whose state dir is `state_dir` (its
// command line names that dir): what reconcile does for a VMM whose
// supervisor died. Returns true if it killed something.
bool kill_orphan_vmm(long pid, const std::string& state_dir);

// True when `pid` is a live supervisor of the VM named `name`.
bool supervisor_alive(long pid, const std::string& name);

// Sends SIGTERM to `pid` if it is a live supervisor of VM `name` (it then
// stops the VM and cleans up). Returns true if it sent it.
bool terminate_supervisor(long pid, const std::string& name);

// Waits (at most `timeout`, polling Ctrl-C) until supervisor `pid` of VM
// `name` has exited: it marks the VM stopped and releases its network just
// before. Returns false on timeout.
bool wait_supervisor_exit(long pid, const std::string& name, std::chrono::milliseconds timeout);

}  // namespace banger::supervisor
