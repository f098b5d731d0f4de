#include "host/vm/exec_session.h"

#include "host/core/error.h"

namespace banger::vm {

using proto::Type;

ExecSession::ExecSession(uint32_t id, ExecRequest req, bool stdin, bool credit, std::string what)
    : id_(id), req_(std::move(req)), stdin_(stdin), credit_(credit), what_(std::move(what)), input_(credit) {}

proto::Frame ExecSession::start(proto::WindowSize size) const {
  proto::Exec e;
  e.argv = req_.argv;
  e.env = req_.env;
  e.cwd = req_.cwd;
  e.user = req_.user;
  e.tty = req_.tty;
  e.stdin = stdin_;
  e.rows = size.rows;
  e.cols = size.cols;
  std::string request = e.encode();
  // Refused here, before any frame: the wire would cut it off as oversize.
  if (request.size() > proto::kMaxPayload)
    fail(ErrorKind::invalid_input,
         "the command's arguments and environment take " + std::to_string(request.size()) +
             " bytes; the limit is " + std::to_string(proto::kMaxPayload) + " (1 MiB)",
         "pass large input on stdin, or copy it in with 'banger vm cp'");
  return {Type::exec, id_, std::move(request)};
}

ExecEvent ExecSession::feed(proto::Frame f) {
  ExecEvent ev;
  if (f.id != id_ || done_) return ev;  // late hello/ready duplicates, other requests
  switch (f.type) {
    case Type::stdout_data:
    case Type::stderr_data:
      ev.kind = ExecEvent::Kind::output;
      ev.from_stderr = f.type == Type::stderr_data;
      ev.data = std::move(f.payload);
      break;
    case Type::credit:
      input_.grant(proto::Credit::decode(f.payload).bytes);
      break;
    case Type::exit: {
      auto x = proto::Exit::decode(f.payload);
      ev.kind = ExecEvent::Kind::exited;
      ev.status = {x.code, x.signal, x.duration_us};
      done_ = true;
      break;
    }
    case Type::error:
      done_ = true;
      fail_request(proto::Failure::decode(f.payload), what_);
    default:
      break;  // exec_started, and anything a newer agent adds
  }
  return ev;
}

std::optional<proto::Frame> ExecSession::delivered(size_t n) {
  if (!credit_) return std::nullopt;
  uint32_t g = output_.consumed(n);
  if (!g) return std::nullopt;
  return proto::Frame{Type::credit, id_, proto::Credit{g}.encode()};
}

proto::Frame ExecSession::stdin_data(std::string bytes) {
  input_.sent(bytes.size());
  return {Type::stdin_data, id_, std::move(bytes)};
}

proto::Frame ExecSession::stdin_eof() const { return {Type::stdin_eof, id_, ""}; }

proto::Frame ExecSession::signal(int signo) const {
  return {Type::signal, id_, proto::Signal{signo}.encode()};
}

proto::Frame ExecSession::resize(proto::WindowSize size) const {
  return {Type::window_size, id_, size.encode()};
}

void fail_request(const proto::Failure& f, const std::string& what) {
  ErrorKind kind = f.kind == "protocol" ? ErrorKind::unsupported : kind_from_name(f.kind);
  fail(kind, what + ": " + f.message);
}

}  // namespace banger::vm
