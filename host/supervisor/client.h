// A client of a VM's supervisor: runs commands with stdio wired to local
// file descriptors (and a TTY when asked), copies files both ways, and asks
// for ports, stats, info, or a stop. Each banger command opens its own.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "host/vm/exec_session.h"
#include "proto/flow.h"
#include "proto/messages.h"

namespace banger::supervisor {

struct ExecOptions {
  vm::ExecRequest request;  // argv, env, cwd, user, tty (a pseudo-terminal; local terminal in raw mode)
  int stdin_fd = -1;        // -1: the command gets /dev/null
  int stdout_fd = 1;
  int stderr_fd = 2;
  // Ctrl-C / SIGTERM / SIGHUP while waiting are forwarded to the command
  // (with a TTY, Ctrl-C is a keystroke the guest's terminal turns into SIGINT).
  bool forward_signals = true;
  // When set, the command's output is kept here instead of written to the
  // fds: a guest's output is untrusted, so past capture_limit bytes on
  // either stream the exec fails (stream it to a file instead).
  std::string* capture_stdout = nullptr;
  std::string* capture_stderr = nullptr;
  size_t capture_limit = 16u << 20;
};

class Client {
 public:
  // Connects and shakes hands. `vm` names the VM in errors.
  static std::unique_ptr<Client> connect(const std::string& socket_path, const std::string& vm);
  ~Client();

  vm::ExecStatus exec(const ExecOptions& opts);
  // Copies a local file into the guest (mode and owner given) / out of it.
  void put_file(const std::string& local_path, const std::string& guest_path, uint32_t mode, uint32_t uid = 0,
                uint32_t gid = 0);
  // Out of the guest, which is untrusted: exactly the announced bytes, only
  // rwx bits under the umask, published whole or not at all. Returns the mode
  // the local file got.
  uint32_t get_file(const std::string& guest_path, const std::string& local_path);
  std::vector<proto::Port> ports();
  proto::Stats stats();
  nlohmann::json info();
  // The VM's name, as errors give it.
  const std::string& vm_name() const { return vm_; }
  // Asks for a power-off and waits until the supervisor has cleaned up and
  // closed the socket (at most `timeout_s`). `now`: skip the clean guest
  // shutdown (for a VM about to be removed).
  void stop(int timeout_s = 30, bool now = false);
  // A VMM operation (control.h's kControl): {"op": ...} -> its result; the
  // supervisor's error is rethrown with its kind and hint.
  nlohmann::json control(const nlohmann::json& request, int timeout_s = 60);

 private:
  friend class ExecPipe;  // drives an exec's frames on this connection
  Client(int fd, std::string vm);
  void send(proto::Type type, uint32_t id, const std::string& payload);
  void send(const proto::Frame& f) { send(f.type, f.id, f.payload); }
  // The next frame, waiting at most `timeout_ms` (-1: forever); throws when
  // the supervisor closed the socket.
  proto::Frame receive(int timeout_ms = -1);
  bool try_receive(proto::Frame& out);
  void read_more(int timeout_ms);
  [[noreturn]] void fail_remote(const proto::Frame& f, const std::string& what);
  // Records `n` bytes of stream `id` written out; grants them back in batches.
  void consumed(uint32_t id, proto::ReceiveWindow& window, size_t n);

  int fd_;
  std::string vm_;
  proto::Decoder decoder_;
  uint32_t next_id_ = 1;
  bool credit_ = false;  // the agent flow-controls streams (both said "credit")
};

}  // namespace banger::supervisor
