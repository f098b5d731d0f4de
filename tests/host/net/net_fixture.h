// Test networking that cannot collide with a real installation or another
// test process: a bridge, tables, tap prefix and subnet named after this
// process, and guards that remove every link, namespace and table on exit.
// Nothing here sends traffic off the machine: only the bridge's own address,
// network namespaces and veth pairs made here are ever addressed.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "host/core/process.h"
#include "host/net/config.h"
#include "host/net/privilege.h"
#include "tests/support/temp_dir.h"

namespace banger::test {

inline std::string pid_tag() {
  char buf[16];
  snprintf(buf, sizeof buf, "%04x", static_cast<unsigned>(getpid()) & 0xffff);
  return buf;
}

// Runs `ip ARGS`, ignoring failure (cleanup) or throwing (setup).
inline void ip_quiet(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  run_capture(args);
}
inline void ip_must(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  run_checked(args, "test setup: ip");
}

struct NetFixture {
  TempDir tmp;
  net::Config cfg;
  std::vector<std::string> netns;  // removed on exit
  std::vector<std::string> links;  // removed on exit

  NetFixture() {
    std::string tag = pid_tag();
    cfg.bridge = "bgt" + tag;
    cfg.table = "banger_test_" + tag;
    cfg.tap_prefix = "b" + tag + "-";
    // 10.199-10.200.x.0/24, by pid: apart from banger's default 10.77.0.0/24.
    unsigned n = static_cast<unsigned>(getpid()) % 500;
    cfg.subnet =
        net::parse_subnet("10." + std::to_string(199 + n / 250) + "." + std::to_string(n % 250) + ".0/24");
    cfg.dns = {};
    cfg.lock_path = tmp / "net.lock";
    cfg.owner = "t" + tag;
  }

  // The comment on VM `vm`'s rules: comment "vm=OWNER:VM".
  std::string comment(const std::string& vm) const { return "comment \"vm=" + cfg.owner + ":" + vm + "\""; }
  // The label on VM `vm`'s tap.
  std::string label(const std::string& vm, long long index) const {
    return "banger:" + cfg.owner + ":" + vm + ":" + address(index);
  }

  ~NetFixture() {
    for (const auto& ns : netns) ip_quiet({"netns", "delete", ns});
    for (const auto& l : links) ip_quiet({"link", "delete", l});
    // Taps with our prefix, then the bridge and our two tables.
    auto out = run_capture({"ip", "-o", "link", "show"}).out;
    size_t pos = 0;
    while ((pos = out.find(": " + cfg.tap_prefix, pos)) != std::string::npos) {
      size_t start = pos + 2, end = out.find_first_of(":@", start);
      ip_quiet({"link", "delete", out.substr(start, end - start)});
      pos = end;
    }
    ip_quiet({"link", "delete", cfg.bridge});
    run_capture({"nft", "delete", "table", "inet", cfg.table});
    run_capture({"nft", "delete", "table", "bridge", cfg.table});
  }

  std::string address(long long i) const { return cfg.subnet.address(i); }
};

inline bool net_privileged() { return net::privileged(); }

#define REQUIRE_NET_PRIVILEGE()                     \
  do {                                              \
    if (!::banger::test::net_privileged()) {        \
      WARN("needs root or CAP_NET_ADMIN; skipped"); \
      return;                                       \
    }                                               \
  } while (0)

// Runs `fn` in a child process inside network namespace `ns`; returns its
// exit code (fn's return value), 127 when the namespace cannot be entered.
inline int in_netns(const std::string& ns, const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(127);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

inline sockaddr_in sockaddr_of(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// ICMP echo to `ip` from `src` (any when empty; raw socket, needs root);
// 0 when a reply came.
inline int icmp_ping(const std::string& ip, const std::string& src = {}, int timeout_ms = 3000) {
  int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (s < 0) return 2;
  if (!src.empty()) {
    sockaddr_in a = sockaddr_of(src, 0);
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 3;
  }
  icmphdr h{};
  h.type = ICMP_ECHO;
  h.un.echo.id = htons(static_cast<uint16_t>(getpid()));
  h.un.echo.sequence = htons(1);
  uint32_t sum = 0;
  auto* w = reinterpret_cast<uint16_t*>(&h);
  for (size_t i = 0; i < sizeof h / 2; ++i) sum += w[i];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  h.checksum = static_cast<uint16_t>(~sum);
  sockaddr_in to = sockaddr_of(ip, 0);
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  // A link that just came up drops packets until the kernel's link watch
  // turns its carrier on (up to a second): send again every 200 ms.
  auto next_send = clock::now();
  while (clock::now() < deadline) {
    if (clock::now() >= next_send) {
      sendto(s, &h, sizeof h, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      next_send = clock::now() + std::chrono::milliseconds(200);
    }
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[1500];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 28 || from.sin_addr.s_addr != to.sin_addr.s_addr) continue;
    int ihl = (buf[0] & 0x0f) * 4;
    auto* reply = reinterpret_cast<icmphdr*>(buf + ihl);
    if (reply->type == ICMP_ECHOREPLY && reply->un.echo.id == h.un.echo.id) {
      close(s);
      return 0;
    }
  }
  close(s);
  return 1;
}

// TCP connect to ip:port from `src` (any when empty) within the timeout; 0
// when connected, 1 when refused or timed out.
inline int tcp_connect(const std::string& ip, int port, const std::string& src = {}, int timeout_ms = 800) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return 2;
  if (!src.empty()) {
    sockaddr_in a = sockaddr_of(src, 0);
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 3;
  }
  sockaddr_in to = sockaddr_of(ip, port);
  int rc = connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to);
  if (rc != 0 && errno != EINPROGRESS) {
    close(s);
    return 1;
  }
  pollfd p{s, POLLOUT, 0};
  int ok = 1;
  if (rc == 0 || poll(&p, 1, timeout_ms) == 1) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err == 0) ok = 0;
  }
  close(s);
  return ok;
}

// A listening TCP socket on ip:port (port 0: any); closed on scope exit.
struct Listener {
  int fd = -1;
  int port = 0;
  explicit Listener(const std::string& ip, int want_port = 0) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = sockaddr_of(ip, want_port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0)
      throw std::runtime_error("test listener on " + ip + ": " + strerror(errno));
    socklen_t l = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd >= 0) close(fd);
  }
  // The peer address of the next connection (waits up to timeout_ms); empty if none.
  std::string accept_peer(int timeout_ms = 2000) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return {};
    sockaddr_in a{};
    socklen_t l = sizeof a;
    int c = accept4(fd, reinterpret_cast<sockaddr*>(&a), &l, SOCK_CLOEXEC);
    if (c < 0) return {};
    close(c);
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    return buf;
  }
};

}  // namespace banger::test
