// End to end under TCG: egress policies in user networking. The servers the
// guest aims at live in a network namespace this test makes (two addresses
// on a veth pair, never off this machine): TCP banners on several ports and
// UDP echo.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/sandbox_home.h"

using namespace banger;
using namespace banger::test;

namespace {

// A network namespace with addresses `a` and `b` (10.213.N.2 and .3, the
// host side .1), and a server process in it.
class TestServers {
 public:
  TestServers() {
    int n = 20 + getpid() % 200;
    tag_ = std::to_string(getpid() % 100000);
    ns_ = "bgr-eg-" + tag_;
    host_if_ = "bge" + tag_ + "h";
    std::string net = "10.213." + std::to_string(n) + ".";
    a = net + "2";
    b = net + "3";
    sh("ip netns add " + ns_);
    sh("ip link add " + host_if_ + " type veth peer name bge" + tag_ + "n");
    sh("ip link set bge" + tag_ + "n netns " + ns_);
    sh("ip addr add " + net + "1/24 dev " + host_if_ + " && ip link set " + host_if_ + " up");
    sh("ip -n " + ns_ + " addr add " + a + "/24 dev bge" + tag_ + "n && ip -n " + ns_ + " addr add " + b +
       "/24 dev bge" + tag_ + "n && ip -n " + ns_ + " link set bge" + tag_ + "n up && ip -n " + ns_ +
       " link set lo up");
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) serve();
  }
  ~TestServers() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    run_capture({"ip", "link", "del", host_if_});
    run_capture({"ip", "netns", "del", ns_});
  }
  std::string a, b;

 private:
  static void sh(const std::string& cmd) {
    auto r = run_capture({"sh", "-c", cmd});
    REQUIRE(r.exit_code == 0);
  }
  static int listener(int type, const std::string& addr, int port) {
    int fd = socket(AF_INET, type, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) _exit(3);
    if (type == SOCK_STREAM) listen(fd, 16);
    return fd;
  }
  // In the namespace: "hello from ADDR:PORT" on each TCP connection, each
  // UDP datagram echoed back as "echo:DATA", and a DNS server on a:53 (UDP
  // and TCP) that answers web.test with b (TTL 30), any other name NXDOMAIN.
  [[noreturn]] void serve() {
    int fd = open(("/run/netns/" + ns_).c_str(), O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(2);
    struct L {
      int fd;
      std::string name;
      bool tcp;
      bool dns = false;
    };
    std::vector<L> ls = {{listener(SOCK_STREAM, a, 8080), a + ":8080", true},
                         {listener(SOCK_STREAM, a, 8081), a + ":8081", true},
                         {listener(SOCK_STREAM, b, 8080), b + ":8080", true},
                         {listener(SOCK_STREAM, b, 8081), b + ":8081", true},
                         {listener(SOCK_DGRAM, a, 5353), "", false},
                         {listener(SOCK_DGRAM, a, 5354), "", false},
                         {listener(SOCK_DGRAM, a, 53), "", false, true},
                         {listener(SOCK_STREAM, a, 53), "", true, true}};
    for (;;) {
      std::vector<pollfd> p;
      for (const auto& l : ls) p.push_back({l.fd, POLLIN, 0});
      if (poll(p.data(), p.size(), -1) < 0) continue;
      for (size_t i = 0; i < ls.size(); i++) {
        if (!(p[i].revents & POLLIN)) continue;
        if (ls[i].tcp && ls[i].dns) {
          // DNS over TCP: a 2-byte length, then the message; one query.
          int c = accept(ls[i].fd, nullptr, nullptr);
          if (c < 0) continue;
          unsigned char len[2];
          std::string q;
          if (read(c, len, 2) == 2) {
            q.resize(static_cast<size_t>(len[0] << 8 | len[1]));
            size_t got = 0;
            while (got < q.size()) {
              ssize_t n = read(c, q.data() + got, q.size() - got);
              if (n <= 0) break;
              got += static_cast<size_t>(n);
            }
            std::string r = dns_reply(q);
            std::string out =
                std::string(1, static_cast<char>(r.size() >> 8)) + static_cast<char>(r.size()) + r;
            (void)!write(c, out.data(), out.size());
          }
          close(c);
        } else if (ls[i].tcp) {
          int c = accept(ls[i].fd, nullptr, nullptr);
          if (c < 0) continue;
          std::string banner = "hello from " + ls[i].name + "\n";
          (void)!write(c, banner.data(), banner.size());
          close(c);
        } else {
          char buf[512];
          sockaddr_in from{};
          socklen_t len = sizeof from;
          ssize_t n = recvfrom(ls[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
          if (n <= 0) continue;
          std::string reply = ls[i].dns ? dns_reply(std::string(buf, static_cast<size_t>(n)))
                                        : "echo:" + std::string(buf, static_cast<size_t>(n));
          sendto(ls[i].fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
    }
  }
  // The response to DNS query `q`: web.test's A record, else NXDOMAIN.
  std::string dns_reply(std::string q) const {
    if (q.size() < 17) return "";
    std::string name;
    size_t at = 12;
    while (at < q.size() && q[at] != 0) {
      size_t len = static_cast<uint8_t>(q[at]);
      name += (name.empty() ? "" : ".") + q.substr(at + 1, len);
      at += len + 1;
    }
    size_t question_end = at + 5;
    if (question_end > q.size()) return "";
    std::string r = q.substr(0, question_end);
    r[2] = static_cast<char>(0x81);  // QR, RD
    bool known = name == "web.test" && q[at + 2] == 1;
    r[3] = static_cast<char>(known ? 0x80 : 0x83);  // RA; NOERROR or NXDOMAIN
    r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
    if (!known) return r;
    r[7] = 1;
    in_addr addr{};
    inet_pton(AF_INET, b.c_str(), &addr);
    r += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x1e\x00\x04", 12);
    r += std::string(reinterpret_cast<const char*>(&addr), 4);
    return r;
  }
  std::string tag_, ns_, host_if_;
  pid_t pid_ = -1;
};

// Shell functions for the guest: the first line a TCP server sends, or
// "refused" (a reset or ICMP unreachable), or "reset" (reset once
// connected: a tap-mode hook's refusal); a UDP echo's reply likewise.
// A hang would print nothing (timeout), which no check accepts.
const std::string kProbe =
    "tcp() { timeout 10 bash -c \"exec 3<>/dev/tcp/$1/$2 && head -n1 <&3\" 2>&1 | sed 's/.*Connection "
    "refused.*/refused/; s/.*Connection reset by peer.*/reset/' | head -n1; }; "
    "udp() { timeout 10 bash -c \"exec 3<>/dev/udp/$1/$2 && echo ping >&3 && head -c 9 <&3\" 2>&1 | sed "
    "'s/.*Connection refused.*/refused/' | head -n1; echo; }; ";

// A line of `getent hosts`: the address in 15 columns, then the name.
std::string getent_line(std::string ip, const std::string& name) {
  if (ip.size() < 15) ip.resize(15, ' ');
  return ip + " " + name + "\n";
}

// The network log lines the first probe of both tests leaves (user and tap
// mode decide alike): address, name and UDP rules, a pin, a refused name.
std::vector<std::string> first_probe_lines(const std::string& a, const std::string& b) {
  return {
      "tcp " + a + ":8080 allowed (rule " + a + ":8080)",
      "tcp " + a + ":8081 refused (no rule)",
      "tcp " + b + ":8080 refused (no rule)",
      "dns api.test allowed (pinned by --add-host)",
      "tcp " + b + ":8080 (api.test) allowed (rule api.test:8080)",
      "dns other.test refused (no rule)",
      "udp " + a + ":5353 allowed (rule " + a + ":5353/udp)",
      "udp " + a + ":5354 refused (no rule)",
  };
}

// The hooks both tests set: port_hook.lua allows TCP port 8081,
// error_hook.lua errors, slow_hook.lua never returns.
void write_hooks(const SandboxHome& home) {
  fs::write_file(
      home.path("port_hook.lua"),
      "local open = { [8081] = true }\n"
      "return function(conn) if conn.proto == 'tcp' and open[conn.dst_port] then return 'allow' end "
      "return 'deny' end\n");
  fs::write_file(home.path("error_hook.lua"), "return function(conn) error('boom') end\n");
  fs::write_file(home.path("slow_hook.lua"), "return function(conn) while true do end end\n");
}

std::string probe(const SandboxHome& home, const std::string& vm, const std::string& script) {
  return home.must({"vm", "exec", vm, "--", "sh", "-c", kProbe + script}).out;
}

}  // namespace

TEST_CASE(
    "e2e egress: an allow-list by address, port, UDP and name (--add-host) admits only what it says and "
    "refuses the rest fast - vm logs --net lists each attempt with its verdict - vm set changes a running "
    "VM's policy for new connections",
    "[e2e][vm][net]") {
  TestServers servers;
  const std::string& a = servers.a;
  const std::string& b = servers.b;
  SandboxHome home;
  home.must({"vm", "create", "--name", "eg", "--egress", a + ":8080", "--egress", a + ":5353/udp", "--egress",
             "api.test:8080", "--add-host", "api.test:" + b});
  home.must({"vm", "start", "eg"});
  CHECK(vm_record(home, "eg")["egress_policy"] == a + ":8080, " + a + ":5353/udp, api.test:8080");
  CHECK_THAT(home.must({"vm", "inspect", "eg"}).out,
             Catch::Contains("\negress_policy:   " + a + ":8080, " + a + ":5353/udp, api.test:8080\n"));
  CHECK(nlohmann::json::parse(home.must({"--json", "vm", "inspect", "eg"}).out)["add_hosts"] ==
        nlohmann::json::array({"api.test:" + b}));

  // The direct connection to b comes before api.test resolves to it.
  auto seen = probe(home, "eg",
                    "tcp " + a + " 8080; tcp " + a + " 8081; tcp " + b +
                        " 8080; getent hosts api.test; "
                        "tcp api.test 8080; getent hosts other.test || echo other.test: $?; udp " +
                        a + " 5353; udp " + a + " 5354");
  CHECK(seen == "hello from " + a +
                    ":8080\n"
                    "refused\n"
                    "refused\n" +
                    getent_line(b, "api.test") + "hello from " + b +
                    ":8080\n"
                    "other.test: 2\n"
                    "echo:ping\n"
                    "refused\n\n");

  std::string log = home.must({"vm", "logs", "--net", "eg"}).out;
  for (const std::string& line : first_probe_lines(a, b)) CHECK_THAT(log, Catch::Contains(line + "\n"));

  // A new policy on the running VM: for the connections after it.
  CHECK(home.must({"vm", "set", "eg", "--egress", a + ":8081"}).out == "VM 'eg': egress " + a + ":8081\n");
  CHECK(probe(home, "eg", "tcp " + a + " 8081; tcp " + a + " 8080") ==
        "hello from " + a + ":8081\nrefused\n");
  CHECK(vm_record(home, "eg")["egress_policy"] == a + ":8081");
  // A hook decides what no rule admits: by port; one that errors or runs
  // too long denies, and the log says why.
  write_hooks(home);
  home.must({"vm", "set", "eg", "--egress", a + ":8080", "--egress-hook", home.path("port_hook.lua")});
  CHECK(vm_record(home, "eg")["egress_policy"] == a + ":8080, hook " + home.path("port_hook.lua"));
  CHECK(probe(home, "eg", "tcp " + a + " 8080; tcp " + a + " 8081; tcp " + b + " 8080") ==
        "hello from " + a + ":8080\nhello from " + a + ":8081\nrefused\n");
  home.must({"vm", "set", "eg", "--egress-hook", home.path("error_hook.lua")});
  CHECK(probe(home, "eg", "tcp " + a + " 8081") == "refused\n");
  home.must({"vm", "set", "eg", "--egress-hook", home.path("slow_hook.lua")});
  CHECK(probe(home, "eg", "tcp " + a + " 8081; tcp " + a + " 8080") ==
        "refused\nhello from " + a + ":8080\n");
  log = home.must({"vm", "logs", "--net", "eg"}).out;
  for (const std::string& line : std::vector<std::string>{
           "tcp " + a + ":8081 allowed (hook)",
           "tcp " + b + ":8080 (api.test) refused (hook)",
           "tcp " + a + ":8081 refused (hook: error: " + home.path("error_hook.lua") + ":1: boom)",
           "tcp " + a + ":8081 refused (hook: took longer than 50 ms)",
       })
    CHECK_THAT(log, Catch::Contains(line + "\n"));
  // A hook that does not load is refused before anything changes.
  fs::write_file(home.path("broken_hook.lua"), "return function(conn\n");
  auto broken = run_banger({"vm", "set", "eg", "--egress-hook", home.path("broken_hook.lua")}, home.env());
  CHECK(broken.code == 2);
  CHECK(broken.err.find("error: egress hook " + home.path("broken_hook.lua") + ": ") == 0);

  home.must({"vm", "set", "eg", "--egress", "none", "--egress-hook", ""});
  CHECK(probe(home, "eg", "tcp " + a + " 8081; getent hosts api.test || echo api.test: $?") ==
        "refused\n" + getent_line(b, "api.test"));
}

TEST_CASE(
    "e2e egress in tap mode: address and name rules (--add-host) in banger's nftables admit what they say "
    "and refuse the rest fast - vm logs --net lists each attempt - vm set changes them on the running VM - "
    "a hook decides the TCP connections no rule admits - a killed supervisor's rules and sets are reconciled",
    "[e2e][vm][net]") {
  TestServers servers;
  const std::string& a = servers.a;
  const std::string& b = servers.b;
  // The host's resolver, for the names banger's relay passes on: the
  // namespace's, never one off this machine.
  SandboxHome home("", {{"BANGER_DNS", a}});
  home.must({"vm", "create", "--net", "tap", "--name", "egt", "--egress", a + ":8080", "--egress",
             a + ":5353/udp", "--egress", "api.test:8080", "--add-host", "api.test:" + b});
  home.must({"vm", "start", "egt"});
  std::string rules = run_capture({"nft", "list", "ruleset"}).out;
  CHECK(rules.find("ip daddr " + a + " tcp dport 8080 log prefix \"banger-allowed\" group ") !=
        std::string::npos);
  CHECK(rules.find("udp dport 53 dnat ip to ") != std::string::npos);
  // The direct connection to b comes before api.test resolves to it.
  CHECK(probe(home, "egt",
              "tcp " + a + " 8080; tcp " + a + " 8081; tcp " + b +
                  " 8080; getent hosts api.test; tcp api.test " + "8080; tcp " + b +
                  " 8081; getent hosts other.test || echo other.test: $?; udp " + a + " 5353; udp " + a +
                  " 5354") == "hello from " + a + ":8080\nrefused\nrefused\n" + getent_line(b, "api.test") +
                                  "hello from " + b +
                                  ":8080\nrefused\nother.test: 2\necho:ping\nrefused\n\n");
  std::string log = home.must({"vm", "logs", "--net", "egt"}).out;
  for (const std::string& line : first_probe_lines(a, b)) CHECK_THAT(log, Catch::Contains(line + "\n"));
  CHECK_THAT(log, Catch::Contains("tcp " + b + ":8081 (api.test) refused (no rule for this port)\n"));

  // A new policy on the running VM: for the connections after it; what the
  // pin taught stays while a rule still allows the name.
  CHECK(home.must({"vm", "set", "egt", "--egress", "api.test:8081", "--add-host", "api.test:" + b}).out ==
        "VM 'egt': egress api.test:8081\n");
  CHECK(probe(home, "egt", "tcp " + b + " 8081; tcp " + b + " 8080; tcp " + a + " 8080") ==
        "hello from " + b + ":8081\nrefused\nrefused\n");
  // A name no pin answers: the host's resolver does, through the relay
  // (api.test is still pinned, and no rule lets it through).
  home.must({"vm", "set", "egt", "--egress", "web.test:8080"});
  CHECK(probe(home, "egt",
              "tcp " + b + " 8080; getent hosts web.test; tcp web.test 8080; tcp " + b +
                  " 8081; getent hosts nope.test || echo nope.test: $?") ==
        "refused\n" + getent_line(b, "web.test") + "hello from " + b + ":8080\nrefused\nnope.test: 2\n");
  CHECK_THAT(home.must({"vm", "logs", "--net", "egt"}).out,
             Catch::Contains("dns web.test allowed (rule web.test:8080)\n"));
  // DNS over TCP (what a truncated answer is asked again with) goes the same way.
  CHECK(probe(home, "egt",
              "export RES_OPTIONS=use-vc; getent hosts web.test; getent hosts api.test; getent hosts "
              "nope.test || echo nope.test: $?") ==
        getent_line(b, "web.test") + getent_line(b, "api.test") + "nope.test: 2\n");

  // Pins stay unless --add-host replaces them: api.test resolves, and no
  // rule lets it through.
  CHECK(home.must({"vm", "set", "egt", "--egress", b + ":8080"}).out == "VM 'egt': egress " + b + ":8080\n");
  CHECK(probe(home, "egt",
              "tcp " + b + " 8080; tcp " + a + " 8080; getent hosts api.test; tcp " + b + " 8081") ==
        "hello from " + b + ":8080\nrefused\n" + getent_line(b, "api.test") + "refused\n");

  // A hook decides the TCP connections no rule admits: by port; one that
  // errors denies, and the log says why.
  write_hooks(home);
  home.must({"vm", "set", "egt", "--egress", a + ":8080", "--egress-hook", home.path("port_hook.lua")});
  CHECK(probe(home, "egt", "tcp " + a + " 8080; tcp " + a + " 8081; tcp " + b + " 8080") ==
        "hello from " + a + ":8080\nhello from " + a + ":8081\nreset\n");
  // Nor does a hook open the host's own services: 8081 on the host's side
  // of the namespace's link is the host itself.
  const std::string host_side = a.substr(0, a.rfind('.')) + ".1";
  int host_listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(host_listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in hs{};
  hs.sin_family = AF_INET;
  hs.sin_port = htons(8081);
  inet_pton(AF_INET, host_side.c_str(), &hs.sin_addr);
  REQUIRE(bind(host_listener, reinterpret_cast<sockaddr*>(&hs), sizeof hs) == 0);
  REQUIRE(listen(host_listener, 4) == 0);
  CHECK(probe(home, "egt", "tcp " + host_side + " 8081") == "reset\n");
  close(host_listener);
  CHECK_THAT(home.must({"vm", "logs", "--net", "egt"}).out,
             Catch::Contains("tcp " + host_side + ":8081 refused (the host's own address)\n"));
  home.must({"vm", "set", "egt", "--egress-hook", home.path("error_hook.lua")});
  CHECK(probe(home, "egt", "tcp " + a + " 8081; tcp " + a + " 8080") == "reset\nhello from " + a + ":8080\n");
  log = home.must({"vm", "logs", "--net", "egt"}).out;
  CHECK_THAT(log, Catch::Contains("tcp " + a + ":8081 allowed (hook)\n"));
  CHECK_THAT(log, Catch::Contains("tcp " + a + ":8081 refused (hook: error: " + home.path("error_hook.lua") +
                                  ":1: boom)\n"));

  // Its rules and sets go with it; another installation's VM of the same
  // name (a second CI job) keeps its own: they are told apart by owner.
  const std::string ip = vm_record(home, "egt")["ip"].get<std::string>();
  rules = run_capture({"nft", "list", "ruleset"}).out;
  size_t own = rules.find("ip saddr " + ip + " ");
  REQUIRE(own != std::string::npos);
  size_t tag = rules.find("\"vm=", own) + 4;
  const std::string owner = rules.substr(tag, rules.find(':', tag) - tag);
  std::string hex;
  for (unsigned char ch : owner + ":egt") {
    const char* d = "0123456789abcdef";
    hex += d[ch >> 4];
    hex += d[ch & 15];
  }
  CHECK(rules.find("names_any_" + hex) != std::string::npos);
  // Its supervisor killed with SIGKILL: the next command's reconcile takes
  // the relay's redirects, the VM's rules and its sets.
  kill(static_cast<pid_t>(vm_record(home, "egt")["supervisor_pid"].get<long>()), SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  home.must({"vm", "ls"});
  CHECK(vm_record(home, "egt")["state"] == "stopped");
  rules = run_capture({"nft", "list", "ruleset"}).out;
  CHECK(rules.find("vm=" + owner + ":egt") == std::string::npos);
  CHECK(rules.find("ip saddr " + ip + " ") == std::string::npos);
  CHECK(rules.find("_" + hex) == std::string::npos);
  home.must({"vm", "rm", "egt"});
}
