#include <catch2/catch.hpp>

#include "host/core/error.h"
#include "host/core/process.h"
#include "host/net/addressing.h"
#include "host/net/firewall.h"
#include "host/net/link.h"
#include "host/net/tap.h"
#include "tests/host/net/net_fixture.h"
#include "tests/support/skip.h"

using namespace banger;
using namespace banger::net;
using banger::test::NetFixture;

namespace {

int count(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("net tap: the bridge is made on demand, idempotently, with the gateway address", "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  ensure_bridge(f.cfg);
  ensure_bridge(f.cfg);
  auto br = find_link(f.cfg.bridge);
  REQUIRE(br);
  CHECK(br->kind == "bridge");
  CHECK(br->up);
  CHECK(ipv4_addresses(f.cfg.bridge) == std::vector<std::string>{f.cfg.subnet.gateway() + "/24"});
  CHECK(tables_exist(f.cfg));
  std::string tables = list_tables(f.cfg);
  CHECK(count(tables, "masquerade") == 1);
  CHECK(tables.find("ip saddr " + f.cfg.subnet.cidr() + " ip daddr != " + f.cfg.subnet.cidr() +
                    " masquerade") != std::string::npos);
  CHECK(tables.find("iifname \"" + f.cfg.bridge + "\" drop") != std::string::npos);
}

TEST_CASE("net tap: setup makes an attached tap and per-VM rules - teardown removes exactly them",
          "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  TapSetup a = setup_tap(f.cfg, "alpha", 2);
  TapSetup b = setup_tap(f.cfg, "beta", 3);
  CHECK(a.ip == f.address(2));
  CHECK(b.ip == f.address(3));
  auto ta = find_link(a.tap);
  REQUIRE(ta);
  CHECK(ta->kind == "tun");
  CHECK(ta->master == f.cfg.bridge);
  CHECK(ta->alias == f.label("alpha", 2));
  CHECK(ta->up);
  // Set up again (a restarted supervisor): same tap, rules not doubled.
  CHECK(setup_tap(f.cfg, "alpha", 2).tap == a.tap);
  allow_host_port(f.cfg, "alpha", 2, 8080);
  allow_host_port(f.cfg, "beta", 3, 53, "udp");

  std::string tables = list_tables(f.cfg);
  CHECK(count(tables, f.comment("alpha")) == 4);
  CHECK(count(tables, f.comment("beta")) == 4);
  CHECK(tables.find("iifname \"" + a.tap + "\" ether saddr != " + a.mac + " drop " + f.comment("alpha")) !=
        std::string::npos);
  CHECK(tables.find("iifname \"" + a.tap + "\" ip saddr != " + a.ip + " drop " + f.comment("alpha")) !=
        std::string::npos);
  CHECK(tables.find("iifname \"" + a.tap + "\" arp saddr ip != " + a.ip + " drop " + f.comment("alpha")) !=
        std::string::npos);
  CHECK(tables.find("ip saddr " + a.ip + " tcp dport 8080 accept " + f.comment("alpha")) !=
        std::string::npos);
  CHECK(tables.find("ip saddr " + b.ip + " udp dport 53 accept " + f.comment("beta")) != std::string::npos);
  CHECK(rule_owners(f.cfg) == std::set<std::string>{"alpha", "beta"});

  CHECK(teardown(f.cfg, "alpha"));
  CHECK_FALSE(find_link(a.tap));
  std::string after = list_tables(f.cfg);
  CHECK(count(after, "alpha\"") == 0);
  CHECK(count(after, f.comment("beta")) == 4);
  CHECK(count(after, "masquerade") == 1);
  CHECK(find_link(b.tap));
  CHECK(find_link(f.cfg.bridge));
  CHECK_FALSE(teardown(f.cfg, "alpha"));

  // The last one out takes the bridge and the tables with it.
  CHECK(teardown(f.cfg, "beta"));
  CHECK_FALSE(find_link(b.tap));
  CHECK_FALSE(find_link(f.cfg.bridge));
  CHECK(list_tables(f.cfg).empty());
}

TEST_CASE("net tap: reconcile removes the taps and rules of unknown VMs only", "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  TapSetup keep = setup_tap(f.cfg, "keep", 2);
  TapSetup gone = setup_tap(f.cfg, "gone", 3);
  allow_host_port(f.cfg, "gone", 3, 22);
  // Rules left by a VM whose tap already went (a crashed supervisor).
  TapSetup ghost = setup_tap(f.cfg, "ghost", 4);
  test::ip_must({"link", "delete", ghost.tap});
  // A foreign link with our prefix but no banger label is not ours to delete
  // (a bridge: this kernel has no dummy links).
  std::string foreign = f.cfg.tap_prefix + "foreign";
  test::ip_must({"link", "add", foreign, "type", "bridge"});
  f.links.push_back(foreign);

  CHECK(reconcile(f.cfg, {"keep"}) == std::vector<std::string>{"ghost", "gone"});
  CHECK(find_link(keep.tap));
  CHECK_FALSE(find_link(gone.tap));
  CHECK(find_link(foreign));
  CHECK(rule_owners(f.cfg) == std::set<std::string>{"keep"});
  CHECK(count(list_tables(f.cfg), f.comment("keep")) == 3);
  CHECK(reconcile(f.cfg, {"keep"}).empty());

  // Nothing known: everything of ours goes, the bridge and tables too.
  CHECK(reconcile(f.cfg, {}) == std::vector<std::string>{"keep"});
  CHECK_FALSE(find_link(keep.tap));
  CHECK_FALSE(find_link(f.cfg.bridge));
  CHECK(list_tables(f.cfg).empty());
  CHECK(find_link(foreign));
}

TEST_CASE(
    "net tap: a policy with names sends the VM's DNS to its relay and keeps name sets - teardown and "
    "reconcile remove them",
    "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  TapSetup a = setup_tap(f.cfg, "alpha", 2);
  setup_tap(f.cfg, "beta", 3);
  EgressPolicy p = parse_egress({"10.9.1.0/24", "api.test:443", "*.pkg.test"}, {"api.test:10.9.0.7"});
  const std::string gw = f.cfg.subnet.gateway();
  set_egress(f.cfg, "alpha", 2, p, {gw, 40053});
  set_egress(f.cfg, "beta", 3, p, {gw, 40054, 17001});
  std::string relay = "comment \"vm=" + f.cfg.owner + ":alpha relay\"";
  std::string t = list_tables(f.cfg);
  CHECK(t.find("iifname \"" + f.cfg.bridge + "\" ip saddr " + a.ip + " udp dport 53 dnat ip to " + gw +
               ":40053 " + relay) != std::string::npos);
  CHECK(t.find("ip saddr " + a.ip + " ip daddr " + gw + " udp dport 40053 accept " + relay) !=
        std::string::npos);
  CHECK(t.find("ip saddr " + a.ip + " ip daddr 10.9.1.0/24 accept " + f.comment("alpha")) !=
        std::string::npos);
  CHECK(count(t, "type ipv4_addr . inet_proto . inet_service") == 2);
  // beta's verdicts are logged to its relay's group: each accept, then the refusal.
  CHECK(count(t, "log prefix \"banger-allowed\" group 17001 accept") == 3);
  CHECK(t.find("log prefix \"banger-refused\" group 17001 " + f.comment("beta")) != std::string::npos);
  CHECK(count(t, "log prefix") == 4);

  // With a hook: TCP no rule admits goes to the relay's listener; banger's
  // own network and what the rules admit stay as they are.
  set_egress(f.cfg, "beta", 3,
             parse_egress({"10.9.1.0/24"}, {}, "return function(conn) return 'deny' end", "hook.lua"),
             {gw, 40054, 17001, 40099});
  t = list_tables(f.cfg);
  const std::string beta_nat = "iifname \"" + f.cfg.bridge + "\" ip saddr " + f.address(3) + " ";
  CHECK(t.find(beta_nat + "ip daddr " + f.cfg.subnet.cidr() + " return") != std::string::npos);
  CHECK(t.find(beta_nat + "ip daddr 10.9.1.0/24 return") != std::string::npos);
  CHECK(t.find(beta_nat + "meta l4proto tcp dnat ip to " + gw + ":40099") != std::string::npos);
  CHECK(t.find("ip saddr " + f.address(3) + " ip daddr " + gw + " tcp dport 40099 accept") !=
        std::string::npos);
  set_egress(f.cfg, "beta", 3, p, {gw, 40054, 17001});
  CHECK(list_tables(f.cfg).find("40099") == std::string::npos);

  change_name_elements(f.cfg, "alpha", {{0x0a090007, 443, false}, {0x0a090008, 0, false}}, {});
  t = list_tables(f.cfg);
  CHECK(t.find("elements = { 10.9.0.7 . tcp . 443 }") != std::string::npos);
  CHECK(t.find("elements = { 10.9.0.8 }") != std::string::npos);
  change_name_elements(f.cfg, "alpha", {}, {{0x0a090008, 0, false}});
  CHECK(list_tables(f.cfg).find("10.9.0.8") == std::string::npos);
  // A new policy: the sets start again empty, the redirect stays.
  set_egress(f.cfg, "alpha", 2, parse_egress({"web.test"}), {gw, 40053});
  t = list_tables(f.cfg);
  CHECK(t.find("10.9.0.7") == std::string::npos);
  CHECK(t.find("ip saddr " + a.ip + " ip daddr 10.9.1.0/24") == std::string::npos);
  CHECK(count(t, relay) == 2);
  // "all": no relay, no rules, no sets.
  set_egress(f.cfg, "alpha", 2, parse_egress({}), {});
  t = list_tables(f.cfg);
  CHECK(count(t, relay) == 0);
  CHECK(count(t, "ip saddr " + a.ip + " ") == 0);
  CHECK(count(t, "set names_") == 2);  // beta's (their names hold OWNER:VM in hex)
  set_egress(f.cfg, "alpha", 2, p, {gw, 40053});

  CHECK(teardown(f.cfg, "alpha"));
  t = list_tables(f.cfg);
  CHECK(count(t, "set names_") == 2);  // beta's
  CHECK(count(t, ":alpha") == 0);
  CHECK(rule_owners(f.cfg) == std::set<std::string>{"beta"});
  CHECK(reconcile(f.cfg, {}) == std::vector<std::string>{"beta"});
  CHECK(list_tables(f.cfg).empty());
}

TEST_CASE("net tap: a tap labelled for another VM is a conflict", "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  TapSetup a = setup_tap(f.cfg, "first", 2);
  test::ip_must({"link", "set", "dev", a.tap, "alias", "banger:someone-else"});
  CHECK_THROWS_WITH(setup_tap(f.cfg, "first", 2),
                    "tap " + a.tap + " for VM first is in use by 'banger:someone-else'");
}

TEST_CASE("net tap: a subnet already routed elsewhere is refused", "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  std::string dummy = "bgd" + test::pid_tag();
  test::ip_must({"link", "add", dummy, "type", "bridge"});
  f.links.push_back(dummy);
  // A wider route on another link that covers banger's subnet.
  uint32_t base = f.cfg.subnet.network & 0xffff0000u;
  std::string net16 = format_ipv4(base) + "/16";
  test::ip_must({"addr", "add", format_ipv4(base | 0xff01u) + "/16", "dev", dummy});
  test::ip_must({"link", "set", dummy, "up"});
  try {
    ensure_bridge(f.cfg);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::conflict);
    CHECK(e.message() == "banger's subnet " + f.cfg.subnet.cidr() + " overlaps " + net16 + " on " + dummy);
    CHECK(e.hint() == "set BANGER_SUBNET to a free private subnet, e.g. BANGER_SUBNET=10.78.0.0/24");
  }
  CHECK_FALSE(find_link(f.cfg.bridge));
}

TEST_CASE("net tap: a table made for another subnet is remade while no VM uses it", "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  Config old = f.cfg;
  old.subnet = parse_subnet("10.202." + std::to_string(getpid() % 250) + ".0/24");
  ensure_tables(old);
  CHECK(list_tables(f.cfg).find(old.subnet.cidr()) != std::string::npos);
  ensure_bridge(f.cfg);
  std::string tables = list_tables(f.cfg);
  CHECK(tables.find(old.subnet.cidr()) == std::string::npos);
  CHECK(tables.find("ip saddr " + f.cfg.subnet.cidr()) != std::string::npos);
  // With a VM on it, changing the subnet is refused.
  setup_tap(f.cfg, "user1", 2);
  CHECK_THROWS_WITH(ensure_tables(old), "banger's nftables table inet " + f.cfg.table +
                                            " was made for another subnet or bridge than " +
                                            old.subnet.cidr() + " on " + f.cfg.bridge);
}

TEST_CASE("net tap: another installation's taps and rules are never reconciled away", "[net][root]") {
  BANGER_REQUIRE_ROOT();
  REQUIRE_NET_PRIVILEGE();
  NetFixture f;
  Config other = f.cfg;
  other.owner = f.cfg.owner + "x";
  TapSetup mine = setup_tap(f.cfg, "mine", 2);
  TapSetup theirs = setup_tap(other, "theirs", 3);
  allow_host_port(other, "theirs", 3, 22);
  // Each side knows only its own VMs.
  CHECK(reconcile(f.cfg, {"mine"}).empty());
  CHECK(reconcile(other, {}) == std::vector<std::string>{"theirs"});
  CHECK(find_link(mine.tap));
  CHECK_FALSE(find_link(theirs.tap));
  CHECK(rule_owners(f.cfg) == std::set<std::string>{"mine"});
  CHECK(rule_owners(other).empty());
  // The same VM name in the other installation: its teardown leaves ours alone.
  CHECK_FALSE(teardown(other, "mine"));
  CHECK(find_link(mine.tap));
  CHECK(count(list_tables(f.cfg), f.comment("mine")) == 3);
  // And it cannot take an address that is in use on the shared bridge.
  try {
    setup_tap(other, "elsewhere", 2);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::conflict);
    CHECK(e.message() == "address " + mine.ip + " for VM elsewhere is in use by VM 'mine' (tap " + mine.tap +
                             ") of another banger installation");
  }
  CHECK(find_link(f.cfg.bridge));
}
