// Real traffic without a VM: a veth pair stands in for a VM's tap (its host
// end carries the tap's name and is adopted by setup_tap; its other end sits
// in a network namespace with the VM's MAC and address). Every packet stays on
// this machine: the namespaces only talk to the bridge, to the host's own
// addresses, and to a second namespace standing in for "outside".
#include <catch2/catch.hpp>

#include "host/core/process.h"
#include "host/net/addressing.h"
#include "host/net/link.h"
#include "host/net/tap.h"
#include "tests/host/net/net_fixture.h"
#include "tests/support/skip.h"

using namespace banger;
using namespace banger::net;
using namespace banger::test;

namespace {

// A namespace "guest" wired like VM `vm` at pool index `index`.
std::string make_guest(NetFixture& f, const std::string& vm, long long index) {
  std::string ns = "bgns-" + pid_tag() + "-" + vm;
  std::string host_end = tap_name(f.cfg.tap_prefix, vm);
  std::string peer = "bgp" + pid_tag() + vm.substr(0, 4);
  ip_must({"netns", "add", ns});
  f.netns.push_back(ns);
  ip_must({"link", "add", host_end, "type", "veth", "peer", "name", peer});
  f.links.push_back(host_end);
  ip_must({"link", "set", peer, "netns", ns});
  ip_must({"-n", ns, "link", "set", "lo", "up"});
  ip_must({"-n", ns, "link", "set", peer, "address", mac_address(vm), "up"});
  ip_must(
      {"-n", ns, "addr", "add", f.address(index) + "/" + std::to_string(f.cfg.subnet.prefix), "dev", peer});
  ip_must({"-n", ns, "route", "add", "default", "via", f.cfg.subnet.gateway()});
  return ns;
}

// An IPv4 address of this host outside banger's bridge (not loopback), if any.
std::string other_host_address(const NetFixture& f) {
  for (const auto& l : list_links()) {
    if (l.name == "lo" || l.name == f.cfg.bridge || l.master == f.cfg.bridge) continue;
    for (const auto& a : ipv4_addresses(l.name)) return a.substr(0, a.find('/'));
  }
  return {};
}

}  // namespace

TEST_CASE("net connectivity: a guest reaches the gateway by ping, host ports only when allowed",
          "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  f.cfg.enable_forwarding = false;  // nothing here is routed
  std::string ns = make_guest(f, "guest", 5);
  TapSetup t = setup_tap(f.cfg, "guest", 5);
  auto port = find_link(t.tap);
  REQUIRE(port);
  CHECK(port->master == f.cfg.bridge);
  CHECK(port->alias == f.label("guest", 5));
  const std::string gw = f.cfg.subnet.gateway();

  CHECK(in_netns(ns, [&] { return icmp_ping(gw); }) == 0);

  Listener on_bridge(gw);
  CHECK(in_netns(ns, [&] { return tcp_connect(gw, on_bridge.port); }) == 1);
  // The same service seen from the host itself is fine (only guests are filtered).
  CHECK(tcp_connect(gw, on_bridge.port) == 0);
  CHECK(on_bridge.accept_peer() == gw);

  // The host's other addresses are the host too.
  std::string other = other_host_address(f);
  if (!other.empty()) {
    Listener anywhere("0.0.0.0");
    CHECK(in_netns(ns, [&] { return tcp_connect(other, anywhere.port); }) == 1);
  }

  allow_host_port(f.cfg, "guest", 5, on_bridge.port);
  CHECK(in_netns(ns, [&] { return tcp_connect(gw, on_bridge.port); }) == 0);
  CHECK(on_bridge.accept_peer() == t.ip);

  // Another source address, or another MAC, from the same tap is spoofing:
  // dropped at the bridge, even for ping, which the host answers otherwise.
  const std::string dev = "bgp" + pid_tag() + "gues";
  std::string spoofed = f.address(77);
  ip_must({"-n", ns, "addr", "add", spoofed + "/32", "dev", dev});
  CHECK(in_netns(ns, [&] { return icmp_ping(gw, spoofed, 1000); }) == 1);
  CHECK(in_netns(ns, [&] { return tcp_connect(gw, on_bridge.port, spoofed); }) == 1);
  CHECK(in_netns(ns, [&] { return icmp_ping(gw, t.ip); }) == 0);
  ip_must({"-n", ns, "link", "set", dev, "address", "52:00:00:00:00:99"});
  ip_must({"-n", ns, "neigh", "flush", "all"});
  CHECK(in_netns(ns, [&] { return icmp_ping(gw, t.ip, 1000); }) == 1);
  ip_must({"-n", ns, "link", "set", dev, "address", t.mac});
  CHECK(in_netns(ns, [&] { return tcp_connect(gw, on_bridge.port, t.ip); }) == 0);

  // Teardown removes the allow rule with the rest.
  CHECK(teardown(f.cfg, "guest"));
  CHECK_FALSE(find_link(t.tap));
}

TEST_CASE("net connectivity: two guests on the bridge reach each other - the allow list is per VM",
          "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  f.cfg.enable_forwarding = false;
  std::string a = make_guest(f, "gsta", 2);
  std::string b = make_guest(f, "gstb", 3);
  setup_tap(f.cfg, "gsta", 2);
  setup_tap(f.cfg, "gstb", 3);
  CHECK(in_netns(a, [&] { return icmp_ping(f.address(3)); }) == 0);
  Listener svc(f.cfg.subnet.gateway());
  allow_host_port(f.cfg, "gsta", 2, svc.port);
  CHECK(in_netns(a, [&] { return tcp_connect(f.cfg.subnet.gateway(), svc.port); }) == 0);
  CHECK(in_netns(b, [&] { return tcp_connect(f.cfg.subnet.gateway(), svc.port); }) == 1);
}

TEST_CASE("net connectivity: outbound traffic is masqueraded behind the host", "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;  // enable_forwarding stays on: NAT needs net.ipv4.ip_forward
  std::string guest = make_guest(f, "nat", 4);
  setup_tap(f.cfg, "nat", 4);
  REQUIRE(in_netns(guest, [&] { return icmp_ping(f.cfg.subnet.gateway()); }) == 0);
  // "Outside": a second namespace behind a point-to-point veth, 10.201.X.0/30.
  std::string outside = "bgout-" + pid_tag();
  std::string host_end = "bgo" + pid_tag(), peer = "bgq" + pid_tag();
  unsigned x = static_cast<unsigned>(getpid()) % 250;
  std::string host_ip = "10.201." + std::to_string(x) + ".1", out_ip = "10.201." + std::to_string(x) + ".2";
  ip_must({"netns", "add", outside});
  f.netns.push_back(outside);
  ip_must({"link", "add", host_end, "type", "veth", "peer", "name", peer});
  f.links.push_back(host_end);
  ip_must({"link", "set", peer, "netns", outside});
  ip_must({"addr", "add", host_ip + "/30", "dev", host_end});
  ip_must({"link", "set", host_end, "up"});
  ip_must({"-n", outside, "addr", "add", out_ip + "/30", "dev", peer});
  ip_must({"-n", outside, "link", "set", peer, "up"});
  // The outside namespace has no route back to banger's subnet: only a
  // masqueraded connection can be answered.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t server = fork();
  if (server == 0) {
    close(fds[0]);
    int code = in_netns(outside, [&] {
      Listener l(out_ip, 7777);
      (void)!write(fds[1], "r", 1);
      std::string peer_ip = l.accept_peer(5000);
      (void)!write(fds[1], peer_ip.data(), peer_ip.size());
      return 0;
    });
    _exit(code);
  }
  close(fds[1]);
  char ready = 0;
  REQUIRE(read(fds[0], &ready, 1) == 1);
  CHECK(in_netns(guest, [&] { return tcp_connect(out_ip, 7777, {}, 3000); }) == 0);
  std::string seen(64, '\0');
  ssize_t n = read(fds[0], seen.data(), seen.size());
  seen.resize(n > 0 ? n : 0);
  close(fds[0]);
  int status = 0;
  waitpid(server, &status, 0);
  CHECK(seen == host_ip);
}
