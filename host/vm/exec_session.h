// One command run through the agent protocol (proto/messages.h, step 3), as
// a state machine fed frames: it builds the frames to send and turns the
// frames received into events, and does no I/O. Vm::exec_stream drives it on
// the agent channel, supervisor::Client::exec on a supervisor's control
// socket; each keeps only its own I/O (callbacks, file descriptors, signals).
//
//   ExecSession s(id, req, stdin, credit, "VM 'box': running ls");
//   send(s.start());
//   for each frame f received:
//     ExecEvent e = s.feed(f);       // output, exited, or nothing
//     output: pass e.data on, then send(*s.delivered(n)) when it has one
//   while s.stdin_room() > 0: send(s.stdin_data(bytes)); at EOF send(s.stdin_eof())
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/flow.h"
#include "proto/messages.h"
#include "proto/wire.h"

namespace banger::vm {

struct ExecRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=VALUE
  std::string cwd;
  std::string user;
  bool tty = false;
};

// How a command ended.
struct ExecStatus {
  int exit_code = 0;      // 128 + signal when killed by one
  int signal = 0;         // the killing signal, 0 if it exited
  uint64_t guest_us = 0;  // the command's run time measured in the guest
};

struct ExecEvent {
  enum class Kind { none, output, exited };
  Kind kind = Kind::none;
  bool from_stderr = false;  // output: from stderr (else stdout, or the tty)
  std::string data;          // output: pass it on, then call delivered(data.size())
  ExecStatus status;         // exited: the session is done
};

class ExecSession {
 public:
  // `id`: the request id, unique among the live requests on the connection.
  // `stdin`: the command reads what stdin_data() sends (else /dev/null).
  // `credit`: both peers announced "credit" (proto/flow.h).
  // `what` starts the message of a refused request ("VM 'box': running ls").
  ExecSession(uint32_t id, ExecRequest req, bool stdin, bool credit, std::string what);

  uint32_t id() const { return id_; }
  bool done() const { return done_; }

  // The Exec frame that starts the command; `size` is the tty's initial size.
  proto::Frame start(proto::WindowSize size = {}) const;

  // Feeds a frame received on the connection. Frames of other requests give
  // Kind::none. A Failure for this request throws the Error it names
  // (fail_request); a malformed payload throws proto::ProtocolError.
  ExecEvent feed(proto::Frame f);

  // After `n` bytes of output were passed on: the Credit frame to send, when
  // a batch is due (never without flow control).
  std::optional<proto::Frame> delivered(size_t n);

  // Bytes of stdin that may be sent now (the agent's grants).
  size_t stdin_room() const { return input_.room(); }
  proto::Frame stdin_data(std::string bytes);
  proto::Frame stdin_eof() const;
  proto::Frame signal(int signo) const;
  proto::Frame resize(proto::WindowSize size) const;

 private:
  uint32_t id_;
  ExecRequest req_;
  bool stdin_, credit_;
  std::string what_;
  bool done_ = false;
  proto::ReceiveWindow output_;
  proto::SendWindow input_;
};

// Throws the Error for a refused request: the agent's (or supervisor's) kind
// ("protocol": unsupported, the peer did not understand us) and "WHAT: MESSAGE".
[[noreturn]] void fail_request(const proto::Failure& f, const std::string& what);

}  // namespace banger::vm
