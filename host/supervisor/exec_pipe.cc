#include "host/supervisor/exec_pipe.h"

#include <signal.h>

#include <algorithm>
#include <cstring>

#include "host/core/error.h"
#include "proto/boot.h"

namespace banger::supervisor {

namespace {
constexpr size_t kMaxStderr = 64 * 1024;
}

ExecPipe::ExecPipe(Client& client, vm::ExecRequest req, bool with_stdin)
    : c_(client),
      session_(
          client.next_id_++, req, with_stdin, client.credit_,
          "VM '" + client.vm_ + "': running " + (req.argv.empty() ? std::string("a command") : req.argv[0])),
      stdin_open_(with_stdin) {
  c_.send(session_.start());
}

void ExecPipe::pump() {
  proto::Frame f = c_.receive();
  if (f.id == 0 && f.type == proto::Type::error)
    c_.fail_remote(f, "running " + std::string(proto::kAgentPath));
  vm::ExecEvent ev = session_.feed(std::move(f));
  if (ev.kind == vm::ExecEvent::Kind::exited) {
    status_ = ev.status;
  } else if (ev.kind == vm::ExecEvent::Kind::output) {
    if (ev.from_stderr) {
      err_.append(ev.data, 0, std::min(ev.data.size(), kMaxStderr - std::min(kMaxStderr, err_.size())));
      if (auto grant = session_.delivered(ev.data.size())) c_.send(*grant);
    } else {
      // Granted back only as read() hands it on: at most a window is buffered.
      if (out_pos_ == out_.size()) out_.clear(), out_pos_ = 0;
      out_ += ev.data;
    }
  }
}

size_t ExecPipe::read(char* buf, size_t n) {
  while (out_pos_ == out_.size() && !status_) pump();
  size_t k = std::min(n, out_.size() - out_pos_);
  std::memcpy(buf, out_.data() + out_pos_, k);
  out_pos_ += k;
  if (k && !status_) {
    if (auto grant = session_.delivered(k)) c_.send(*grant);
  }
  return k;
}

bool ExecPipe::write(std::string_view data) {
  while (!data.empty()) {
    while (!status_ && session_.stdin_room() == 0) pump();
    if (status_) return false;
    size_t k = std::min({data.size(), session_.stdin_room(), static_cast<size_t>(proto::kDataChunk)});
    c_.send(session_.stdin_data(std::string(data.substr(0, k))));
    data.remove_prefix(k);
  }
  return true;
}

void ExecPipe::close_stdin() {
  if (!stdin_open_) return;
  stdin_open_ = false;
  if (!status_) c_.send(session_.stdin_eof());
}

vm::ExecStatus ExecPipe::wait(size_t max_extra_stdout, const std::string& what) {
  close_stdin();
  size_t extra = out_.size() - out_pos_;
  out_.clear(), out_pos_ = 0;
  while (!status_) {
    if (extra > max_extra_stdout) {
      c_.send(session_.signal(SIGKILL));
      fail(ErrorKind::io,
           what + ": VM '" + c_.vm_ + "' sent more than " + std::to_string(max_extra_stdout) +
               " bytes after the end of the tar stream; nothing was written",
           "the guest's agent misbehaves: check what runs in the VM ('banger vm logs " + c_.vm_ + "')");
    }
    pump();
    extra += out_.size();
    if (!out_.empty()) {
      if (auto grant = session_.delivered(out_.size())) c_.send(*grant);
    }
    out_.clear();
  }
  return *status_;
}

}  // namespace banger::supervisor
