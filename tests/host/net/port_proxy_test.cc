#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "host/core/error.h"
#include "host/net/port_proxy.h"
#include "host/net/relay.h"
#include "tests/support/error_text.h"

using namespace banger;
using namespace banger::net;
using banger::test::error_message;

namespace {

int bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// A port nobody listens on (bound then closed).
int free_port() {
  int fd = tcp_listen("127.0.0.1", 0);
  int port = bound_port(fd);
  close(fd);
  return port;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("net port proxy: relays both ways, half-close included, and frees its port", "[net]") {
  // An "upper-case echo" service standing in for the guest: it answers
  // only after the client half-closes, as request/response tools do.
  int service = tcp_listen("127.0.0.1", 0);
  std::thread server([service] {
    int c = accept(service, nullptr, nullptr);
    std::string in = read_all(c);
    for (char& ch : in) ch = static_cast<char>(toupper(ch));
    (void)!write(c, in.data(), in.size());
    close(c);
  });
  int port = free_port();
  {
    PortProxy proxy({{"127.0.0.1", port, "127.0.0.1", bound_port(service)}});
    CHECK(error_message([&] {
            PortProxy again({{"127.0.0.1", port, "127.0.0.1", 1}});
          }) == "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
    int c = tcp_connect("127.0.0.1", port, std::chrono::seconds(5));
    std::string big(300000, 'x');
    std::thread writer([&] {
      (void)!write(c, big.data(), big.size());
      shutdown(c, SHUT_WR);
    });
    std::string got = read_all(c);
    writer.join();
    close(c);
    CHECK(got == std::string(300000, 'X'));
  }
  server.join();
  close(service);
  // The proxy is gone: its port can be bound again.
  CHECK_NOTHROW(close(tcp_listen("127.0.0.1", port)));
}

TEST_CASE("net relay: a refused connection names the address", "[net]") {
  int port = free_port();
  CHECK(error_message([&] { tcp_connect("127.0.0.1", port, std::chrono::seconds(2)); }) ==
        "connecting to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}
