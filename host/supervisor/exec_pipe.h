// A command in the guest whose stdout the caller reads and whose stdin it
// writes, as byte streams (not file descriptors): how `vm cp` moves a tar
// stream to or from the agent's tree tools over one supervisor connection,
// with the exec's flow control. Single-threaded: each call drives the
// connection until it can return.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "host/supervisor/client.h"
#include "host/vm/exec_session.h"

namespace banger::supervisor {

class ExecPipe {
 public:
  ExecPipe(Client& client, vm::ExecRequest req, bool with_stdin);

  // Up to `n` bytes of the command's stdout; 0 once it has exited.
  size_t read(char* buf, size_t n);
  // Sends stdin as the agent grants room; false when the command exited
  // before taking it all (its status says whether that was a failure).
  bool write(std::string_view data);
  void close_stdin();
  // Waits for the exit. Stdout still to come is read and dropped, at most
  // `max_extra_stdout` bytes: past that the command is killed and this throws.
  vm::ExecStatus wait(size_t max_extra_stdout, const std::string& what);

  bool exited() const { return status_.has_value(); }
  const std::optional<vm::ExecStatus>& status() const { return status_; }
  // The start of what the command wrote on stderr (at most 64 KiB).
  const std::string& stderr_text() const { return err_; }

 private:
  void pump();  // handles the next frame for this command

  Client& c_;
  vm::ExecSession session_;
  std::string out_;
  size_t out_pos_ = 0;
  std::string err_;
  bool stdin_open_;
  std::optional<vm::ExecStatus> status_;
};

}  // namespace banger::supervisor
