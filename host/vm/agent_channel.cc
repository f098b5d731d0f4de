#include "host/vm/agent_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "host/core/error.h"

namespace banger::vm {

AgentChannel::AgentChannel(int fd) : fd_(fd) { fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK); }

AgentChannel::~AgentChannel() {
  if (fd_ >= 0) ::close(fd_);
}

void AgentChannel::send(proto::Type type, uint32_t id, const std::string& payload,
                        Clock::time_point deadline) {
  if (closed_) fail(ErrorKind::io, "the agent channel is closed");
  std::string frame;
  try {
    frame = proto::encode_frame(type, id, payload);
  } catch (const proto::ProtocolError& e) {
    fail(ErrorKind::invalid_input, std::string("sending to the agent: ") + e.what());
  }
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      closed_ = true;
      fail_errno("sending to the agent");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) fail(ErrorKind::io, "sending to the agent timed out (the guest stopped reading)");
    pollfd p{fd_, POLLOUT, 0};
    poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
  }
}

std::optional<proto::Frame> AgentChannel::receive(std::chrono::milliseconds wait) {
  try {
    if (auto f = decoder_.next()) return f;
    if (closed_) fail(ErrorKind::io, "the agent closed the channel");
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(wait.count()));
    if (r <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n == 0) {
      closed_ = true;
      fail(ErrorKind::io, "the agent closed the channel");
    }
    if (n < 0 && errno == ECONNRESET) {
      closed_ = true;
      fail(ErrorKind::io, "the agent closed the channel");
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return std::nullopt;
      closed_ = true;
      fail_errno("reading from the agent");
    }
    decoder_.feed(buf, n);
    return decoder_.next();
  } catch (const proto::ProtocolError& e) {
    closed_ = true;
    fail(ErrorKind::io, std::string("agent protocol error: ") + e.what(),
         "the guest's agent does not match this banger; pull the image again with this banger");
  }
}

}  // namespace banger::vm
