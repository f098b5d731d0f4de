// vm::start: boots a microVM on QEMU and hands back a handle once the guest
// agent is ready. The handle runs commands through the agent (exec), stops the
// VM (poweroff through the agent, then SIGTERM, then SIGKILL) and waits for
// it. Destroying a handle kills a VM that is still running: no QEMU outlives
// its handle unless stop()/wait() saw it exit.
//
// Phases: start() returns only a ready VM (or throws, leaving no process);
// exec() is legal while the VM runs; stop() and wait() any time (idempotent).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/core/process.h"
#include "host/vm/accel.h"
#include "host/vm/agent_channel.h"
#include "host/vm/exec_session.h"
#include "host/vm/qmp.h"
#include "host/vm/spec.h"

namespace banger::net {
class UserNet;
class PortProxy;
}  // namespace banger::net

namespace banger::vm {

struct BootTimes {
  uint32_t kernel_to_init_ms = 0;  // guest: kernel start -> first init
  uint32_t init_to_ready_ms = 0;   // guest: first init -> agent ready
  uint32_t guest_uptime_ms = 0;    // guest uptime at ready
  uint64_t host_ready_ms = 0;      // host: QEMU spawned -> Ready received
};

struct Info {
  std::string name;
  std::string state_dir, console_log, qemu_log, overlay, qmp_socket;
  pid_t pid = -1;
  std::string accel, accel_reason;
  std::string agent;  // the agent's software string
  std::vector<std::string> capabilities;
  std::string mode, hostname, kernel;  // as the guest reported them
  BootTimes boot;
  std::vector<std::string> qemu_argv;
  std::string restored_from;  // the snapshot this VM was restored from; empty: booted
  uint64_t restore_ms = 0;    // host: QEMU spawned -> state loaded
};

// What exec() returns: how the command ended and what it wrote.
struct ExecResult : ExecStatus {
  std::string out, err;  // captured by exec(); empty from exec_stream()
};

struct StreamIO {
  std::function<void(std::string_view)> on_stdout;
  std::function<void(std::string_view)> on_stderr;
  // Copied to the command's stdin until EOF; -1 gives it /dev/null.
  int stdin_fd = -1;
};

class Vm {
 public:
  Vm(const Spec& spec, Info info, Process qemu, std::unique_ptr<AgentChannel> channel);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  const Info& info() const { return info_; }
  const Spec& spec() const { return spec_; }
  // The disk QEMU writes to now (a snapshot moves it onto a new overlay).
  void set_overlay(const std::string& path) { info_.overlay = path; }
  bool running();
  // The agent channel, for the supervisor that routes many clients over it.
  AgentChannel& channel() { return *channel_; }

  // Runs a command to completion and captures its output (each stream at
  // most `max_output` bytes: more is an io error; use exec_stream for more).
  ExecResult exec(const ExecRequest& req, size_t max_output = 64 << 20);
  // Runs a command, handing its output to the callbacks as it arrives.
  ExecResult exec_stream(const ExecRequest& req, const StreamIO& io);

  // Asks the guest to power off and waits up to `grace`; then SIGTERM (3 s),
  // then SIGKILL. Returns QEMU's exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Waits for QEMU to exit (the guest powered off); nullopt on timeout.
  std::optional<int> wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Stops / continues the guest's CPUs through QMP (stop / cont): a paused
  // VM keeps its memory and uses no CPU. Both are idempotent. stop() of a
  // paused VM continues it first, so the guest can power off cleanly.
  void pause();
  void resume();
  bool paused() const { return paused_; }
  // A new egress policy (host/net/egress.h) for the guest's connections from
  // now on; unsupported unless the VM is on user networking.
  void set_egress(const std::vector<std::string>& rules, const std::vector<std::string>& add_hosts,
                  const std::string& hook = {}, const std::string& hook_name = {});
  // The VM's QMP connection (snapshots drive QEMU through it).
  Qmp& qmp() { return *qmp_; }

 private:
  friend std::unique_ptr<Vm> start(const Spec& spec);

  // For a restore (spec.restore.state set): the snapshot's files exist and its
  // command-line digest is this spec's; a clear error naming the snapshot
  // otherwise. (The QEMU version is checked against the running QEMU.)
  void check_restore(const Spec& spec, const AccelChoice& accel);
  [[noreturn]] void fail_vm(const std::string& what, const std::string& hint);
  // A restore: checks the QEMU version, then feeds QEMU the saved state.
  void start_incoming();
  // After a restore: the guest takes this VM's clock, RNG seed, hostname
  // and (tap) address and MAC, so copies of one snapshot share none of them.
  void send_identity();
  Spec spec_;
  Info info_;
  // The VM's port forwards and user network stack; declared before qemu_ so
  // QEMU is gone before they are.
  std::unique_ptr<net::UserNet> user_net_;
  std::unique_ptr<net::PortProxy> port_proxy_;
  Process qemu_;
  std::unique_ptr<AgentChannel> channel_;
  std::optional<Qmp> qmp_;
  bool paused_ = false;
  uint32_t next_id_ = 1;
};

// Checks the spec, makes the disk overlay if missing, picks the accelerator,
// starts QEMU and waits (at most spec.ready_timeout) for the agent's Ready.
// Errors name the VM and end with the console tail; nothing keeps running.
std::unique_ptr<Vm> start(const Spec& spec);

// For a restore (spec.restore.state set): the snapshot's files exist and its
// command-line digest is this spec's; a clear error naming the snapshot
// otherwise. (The QEMU version is checked against the running QEMU.)
void check_restore(const Spec& spec, const AccelChoice& accel);

}  // namespace banger::vm
