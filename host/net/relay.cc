#include "host/net/relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/core/error.h"

namespace banger::net {

namespace {

sockaddr_in ipv4(const std::string& host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
    fail(ErrorKind::invalid_input, "'" + host + "' is not an IPv4 address");
  return a;
}

std::string where(const std::string& host, int port) { return host + ":" + std::to_string(port); }

// One direction of a relay: bytes read from `from` and not yet written to `to`.
struct Pipe {
  Pipe(int f, int t) : from(f), to(t) {}
  int from, to;
  char buf[64 * 1024];
  size_t len = 0, off = 0;
  bool eof = false;  // `from` ended and everything was passed on
};

// Moves what it can without blocking; false when a side failed.
bool pump(Pipe& p, short rev_from) {
  if (p.len == 0 && !p.eof && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = ::read(p.from, p.buf, sizeof p.buf);
    if (n > 0) {
      p.len = static_cast<size_t>(n);
      p.off = 0;
    } else if (n == 0) {
      p.eof = true;
      ::shutdown(p.to, SHUT_WR);
    } else if (errno != EAGAIN && errno != EINTR) {
      return false;
    }
  }
  if (p.len > p.off) {
    ssize_t n = ::send(p.to, p.buf + p.off, p.len - p.off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      p.off += static_cast<size_t>(n);
      if (p.off == p.len) p.len = p.off = 0;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return false;
    }
  }
  return true;
}

}  // namespace

void relay(int a, int b, int stop_fd) {
  for (int fd : {a, b}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  Pipe ab{a, b}, ba{b, a};
  while (!(ab.eof && ba.eof)) {
    pollfd p[3] = {{a, 0, 0}, {b, 0, 0}, {stop_fd, POLLIN, 0}};
    // Read a side only when its previous chunk is passed on: the slower side
    // sets the pace instead of a growing buffer.
    if (ab.len == 0 && !ab.eof) p[0].events |= POLLIN;
    if (ba.len == 0 && !ba.eof) p[1].events |= POLLIN;
    if (ab.len) p[1].events |= POLLOUT;
    if (ba.len) p[0].events |= POLLOUT;
    int n = ::poll(p, stop_fd >= 0 ? 3 : 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[2].revents) return;
    if (!pump(ab, p[0].revents) || !pump(ba, p[1].revents)) return;
    // A side that hung up and has nothing more to read can take no more
    // bytes either: the other direction is over too.
    if (((p[0].revents & POLLHUP) && ab.eof) || ((p[1].revents & POLLHUP) && ba.eof)) return;
  }
}

int tcp_connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  sockaddr_in a = ipv4(host, port);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) fail_errno("socket");
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc == 0) {
      ::close(fd);
      fail(ErrorKind::network, "connecting to " + where(host, port) + ": timed out");
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    rc = err ? -1 : 0;
  }
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    fail(ErrorKind::network, "connecting to " + where(host, port) + ": " + std::strerror(err));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

int tcp_listen(const std::string& host, int port) {
  sockaddr_in a = ipv4(host, port);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    int err = errno;
    ::close(fd);
    fail(err == EADDRINUSE ? ErrorKind::conflict : ErrorKind::io,
         "cannot listen on " + where(host, port) + ": " + std::strerror(err),
         err == EADDRINUSE ? "the port is in use: pick another host port (-p OTHER:GUEST)" : "");
  }
  return fd;
}

int connect_stdio(const std::string& host, int port) {
  int fd = -1;
  try {
    fd = tcp_connect(host, port, std::chrono::seconds(5));
  } catch (const Error&) {
    return 1;  // the guest sees its connection closed
  }
  relay(0, fd);
  ::close(fd);
  return 0;
}

}  // namespace banger::net
