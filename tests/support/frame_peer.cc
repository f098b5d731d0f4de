#include "tests/support/frame_peer.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace banger::test {

FramePeer::~FramePeer() { close(); }

void FramePeer::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FramePeer::send(proto::Type type, uint32_t id, const std::string& payload) {
  out_ += proto::encode_frame(type, id, payload);
  flush();
}

void FramePeer::flush() {
  while (!out_.empty()) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) throw std::runtime_error("frame peer: send failed");
    out_.erase(0, n);
  }
}

std::optional<proto::Frame> FramePeer::next(int timeout_ms) {
  for (;;) {
    flush();
    if (auto f = decoder_.next()) return f;
    if (eof_) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) return std::nullopt;
    char buf[64 * 1024];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof_ = true;
      continue;
    }
    decoder_.feed(buf, n);
  }
}

bool FramePeer::closed_by_peer(int timeout_ms) {
  while (next(timeout_ms)) {
  }
  return eof_;
}

}  // namespace banger::test
