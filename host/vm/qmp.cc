#include "host/vm/qmp.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "host/core/error.h"

namespace banger::vm {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

Qmp Qmp::connect(const std::string& path, const std::string& vm, Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    fail(ErrorKind::invalid_input, "VM '" + vm + "': QMP socket path too long: " + path,
         "use a shorter BANGER_HOME");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  for (;;) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      Qmp q(fd, vm);
      Json greeting = q.read_message(deadline);
      if (!greeting.contains("QMP")) fail(ErrorKind::io, "VM '" + vm + "': QMP greeting missing on " + path);
      q.execute("qmp_capabilities");
      return q;
    }
    int err = errno;
    ::close(fd);
    if ((err != ENOENT && err != ECONNREFUSED) || Clock::now() >= deadline)
      fail(ErrorKind::io, "VM '" + vm + "': connecting to QEMU's QMP socket " + path + ": " + strerror(err),
           "QEMU did not start; see the VM's qemu.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Qmp::Qmp(Qmp&& o) noexcept : fd_(o.fd_), vm_(std::move(o.vm_)), buffer_(std::move(o.buffer_)) { o.fd_ = -1; }

Qmp& Qmp::operator=(Qmp&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    vm_ = std::move(o.vm_);
    buffer_ = std::move(o.buffer_);
    o.fd_ = -1;
  }
  return *this;
}

Qmp::~Qmp() {
  if (fd_ >= 0) ::close(fd_);
}

Json Qmp::read_message(Clock::time_point deadline) {
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      Json j = Json::parse(line, nullptr, false);
      if (!j.is_object()) fail(ErrorKind::io, "VM '" + vm_ + "': QEMU sent a malformed QMP message");
      return j;
    }
    if (buffer_.size() > kMaxLine)
      fail(ErrorKind::io, "VM '" + vm_ + "': a QMP message exceeds " + std::to_string(kMaxLine) + " bytes");
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) fail(ErrorKind::io, "VM '" + vm_ + "': QEMU did not answer on QMP in time");
    char buf[8192];
    ssize_t r = ::read(fd_, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r <= 0) fail(ErrorKind::io, "VM '" + vm_ + "': QEMU closed its QMP socket", "the VM has exited");
    buffer_.append(buf, static_cast<size_t>(r));
  }
}

Json Qmp::execute(const std::string& command, const Json& arguments, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  Json req = {{"execute", command}};
  if (!arguments.is_null()) req["arguments"] = arguments;
  std::string line = req.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t w = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) == 0)
        fail(ErrorKind::io, "VM '" + vm_ + "': QMP " + command + ": QEMU does not take commands");
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET)
      fail(ErrorKind::io, "VM '" + vm_ + "': QEMU closed its QMP socket", "the VM has exited");
    fail(ErrorKind::io, "VM '" + vm_ + "': QMP " + command + ": " + strerror(errno), "the VM has exited");
  }
  for (;;) {
    Json m = read_message(deadline);
    if (m.contains("event")) continue;
    if (m.contains("error")) {
      const Json& e = m["error"];
      std::string desc = e.is_object() && e.contains("desc") && e["desc"].is_string()
                             ? e["desc"].get<std::string>()
                             : std::string("unknown error");
      fail(ErrorKind::io, "VM '" + vm_ + "': QEMU refused " + command + ": " + desc);
    }
    if (m.contains("return")) return m["return"];
  }
}

}  // namespace banger::vm
