// Child processes: spawn with explicit argv (never a shell), wire stdio, wait,
// signal. Used for qemu, apt-get, and by tests for registry/skopeo.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace banger {

struct SpawnOptions {
  std::vector<std::string> argv;
  std::optional<std::string> cwd;
  // "NAME=VALUE" entries added to (or replacing in) the current environment.
  std::vector<std::string> env;
  // Where each stdio stream goes: -1 inherits, otherwise the fd to dup2.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Pipes the parent can use (ignored when the matching *_fd is set).
  bool pipe_stdin = false;
  bool pipe_stdout = false;
  bool pipe_stderr = false;
  // setsid() in the child: detached from our terminal and our Ctrl-C.
  bool new_session = false;
  // Runs in the child after fork and the stdio wiring, just before exec
  // (prctl, namespaces, an fd to keep): only async-signal-safe calls. It
  // returns an errno value, or 0; a failure is reported as the spawn's.
  std::function<int()> in_child;
};

class Process {
 public:
  Process() = default;
  // Spawns; a missing executable is a not_found error naming it.
  static Process spawn(const SpawnOptions& opts);
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Kills (SIGKILL) and reaps a child that is still running.
  ~Process();

  pid_t pid() const { return pid_; }
  int stdin_fd() const { return in_; }
  int stdout_fd() const { return out_; }
  int stderr_fd() const { return err_; }
  void close_stdin();

  // Blocks until exit; returns the exit status (128+signal for a signal).
  int wait();
  // Waits at most `timeout` (woken by the exit itself); nullopt if still running.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  bool running();
  void signal(int sig);
  // Forgets the child without killing it (for detached daemons).
  pid_t release();

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::optional<int> status_;
};

struct RunResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs argv to completion, feeding `input` on stdin and capturing both streams.
RunResult run_capture(const std::vector<std::string>& argv, const std::string& input = {},
                      const std::optional<std::string>& cwd = std::nullopt);

// Like run_capture but throws an io error ("WHAT failed (exit N): STDERR")
// when the exit code is not 0. Returns stdout.
std::string run_checked(const std::vector<std::string>& argv, const std::string& what);

// The first directory on PATH holding an executable `name`, or nullopt.
std::optional<std::string> find_executable(const std::string& name);

// Waits at most `timeout` for `pid` (any process, not only a child) to
// exit; true once it has (a child of ours stays a zombie until reaped). A
// pidfd wakes the wait at the exit; kernels without pidfd_open (before 5.3)
// check every 5 ms instead, and see a zombie child only at the deadline.
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace banger
