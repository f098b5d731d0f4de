#include <catch2/catch.hpp>

#include <optional>
#include <set>

#include "host/core/error.h"
#include "host/net/addressing.h"
#include "host/net/config.h"
#include "host/net/privilege.h"
#include "host/net/tap.h"
#include "tests/support/error_text.h"

using namespace banger;
using namespace banger::net;

TEST_CASE("net addressing: a pool index is the host part of the VM's address", "[net]") {
  Subnet s = parse_subnet("10.77.0.0/24");
  CHECK(s.cidr() == "10.77.0.0/24");
  CHECK(s.gateway() == "10.77.0.1");
  CHECK(s.first() == 2);
  CHECK(s.last() == 254);
  CHECK(s.address(2) == "10.77.0.2");
  CHECK(s.address(254) == "10.77.0.254");
  Subnet big = parse_subnet("172.16.0.0/16");
  CHECK(big.last() == 65534);
  CHECK(big.address(300) == "172.16.1.44");
  CHECK(test::error_message([&] { s.address(255); }) ==
        "address index 255 is outside subnet 10.77.0.0/24's pool 2..254");
  CHECK(test::error_message([&] { s.address(1); }) ==
        "address index 1 is outside subnet 10.77.0.0/24's pool 2..254");
}

TEST_CASE("net addressing: bad subnets are rejected with the reason", "[net]") {
  CHECK(test::error_message([] { parse_subnet("10.77.0.0", "BANGER_SUBNET"); }) ==
        "BANGER_SUBNET '10.77.0.0' is not an IPv4 subnet (A.B.C.D/P)");
  CHECK(test::error_message([] { parse_subnet("10.77.0.1/24", "BANGER_SUBNET"); }) ==
        "BANGER_SUBNET '10.77.0.1/24' has host bits set (did you mean 10.77.0.0/24?)");
  CHECK(test::error_message([] { parse_subnet("10.0.0.0/8"); }) ==
        "subnet '10.0.0.0/8': prefix /8 is out of range (16 to 29)");
  CHECK(test::error_message([] { parse_subnet("10.77.0.0/30"); }) ==
        "subnet '10.77.0.0/30': prefix /30 is out of range (16 to 29)");
  CHECK(test::error_message([] { parse_subnet("fd00::/64"); }) ==
        "subnet 'fd00::/64' is not an IPv4 subnet (A.B.C.D/P)");
}

TEST_CASE("net addressing: tap names fit IFNAMSIZ, are stable and keep names apart", "[net]") {
  CHECK(tap_name("bg-", "web") == tap_name("bg-", "web"));
  CHECK(tap_name("bg-", "web").rfind("bg-web-", 0) == 0);
  CHECK(tap_name("bg-", "a-very-long.vm_name-indeed").rfind("bg-avery-", 0) == 0);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string t = tap_name("bg-", "builder-" + std::to_string(i));
    CHECK(t.size() <= 15);
    seen.insert(t);
  }
  CHECK(seen.size() == 2000);
  CHECK(test::error_message([] { tap_name("toolongpfx", "x"); }) ==
        "tap prefix 'toolongpfx' is too long (at most 8 characters)");
}

TEST_CASE("net addressing: MACs are stable, unicast and locally administered", "[net]") {
  std::string m = mac_address("web");
  CHECK(m == mac_address("web"));
  CHECK(m != mac_address("web2"));
  CHECK(m.size() == 17);
  CHECK(m.rfind("52:", 0) == 0);
}

TEST_CASE("net config: guest name servers skip loopback stubs", "[net]") {
  CHECK(nameservers("# c\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver fd00::1\n"
                    "search lan\nnameserver 192.0.2.9\n") ==
        std::vector<std::string>{"10.255.255.53", "192.0.2.9"});
  CHECK(nameservers("").empty());
}

TEST_CASE("net privilege: CAP_NET_ADMIN is bit 12 of CapEff", "[net]") {
  CHECK(has_net_admin("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n"));
  CHECK(has_net_admin("CapEff:\t0000000000001000\n"));
  CHECK_FALSE(has_net_admin("CapEff:\t0000000000000fff\n"));
  CHECK_FALSE(has_net_admin("CapEff:\t0000000000000000\n"));
  CHECK_FALSE(has_net_admin("Name:\tx\n"));
  CHECK((default_mode() == "tap" || default_mode() == "user"));
}

TEST_CASE("net tap: the tap, MAC and address a VM gets", "[net]") {
  Config cfg;
  cfg.dns = {"192.0.2.53", "192.0.2.54"};
  TapSetup t = describe_tap(cfg, "web", 7);
  CHECK(t.ip == "10.77.0.7");
  CHECK(t.gateway == "10.77.0.1");
  CHECK(t.prefix == 24);
  CHECK(t.address() == "10.77.0.7/24");
  CHECK(t.tap == tap_name("bg-", "web"));
  CHECK(t.mac == mac_address("web"));
  CHECK(t.dns_list() == "192.0.2.53,192.0.2.54");
  cfg.dns.clear();
  CHECK(describe_tap(cfg, "web", 7).dns_list() == "");
}

TEST_CASE("net config: the environment picks subnet, bridge and name servers", "[net]") {
  struct Env {
    std::string name;
    std::optional<std::string> old;
    Env(std::string n, const char* v) : name(std::move(n)) {
      if (const char* o = std::getenv(name.c_str())) old = o;
      if (v) setenv(name.c_str(), v, 1);
      else unsetenv(name.c_str());
    }
    ~Env() {
      if (old) setenv(name.c_str(), old->c_str(), 1);
      else unsetenv(name.c_str());
    }
  };
  Env home("BANGER_HOME", "/h");
  {
    Env s("BANGER_SUBNET", nullptr), b("BANGER_BRIDGE", nullptr), d("BANGER_DNS", "192.0.2.1,192.0.2.2");
    Config c = config_from_env();
    CHECK(c.subnet.cidr() == "10.77.0.0/24");
    CHECK(c.bridge == "banger0");
    CHECK(c.table == "banger");
    CHECK(c.tap_prefix == "bg-");
    CHECK(c.dns == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
    // One lock for every installation on the host: they choose subnets
    // against each other and may share a bridge.
    CHECK(c.lock_path == "/run/lock/banger-net.lock");
    // Neither forced: this installation's own network, not chosen yet.
    CHECK(c.automatic);
    CHECK(c.slot == -1);
    CHECK(c.choice_path == "/h/net.json");
  }
  {
    Env s("BANGER_SUBNET", "10.88.0.0/24"), b("BANGER_BRIDGE", "bgtest1"), d("BANGER_DNS", nullptr);
    Config c = config_from_env();
    CHECK(c.subnet.cidr() == "10.88.0.0/24");
    CHECK(c.bridge == "bgtest1");
    CHECK(c.table == "banger_bgtest1");
    CHECK(c.tap_prefix.size() == 6);
    CHECK(c.tap_prefix[0] == 'b');
    CHECK(c.tap_prefix != "bg-");
    CHECK_FALSE(c.automatic);
  }
  {
    Env s("BANGER_SUBNET", "10.88.0.1/24");
    CHECK_THROWS_WITH(config_from_env(),
                      "BANGER_SUBNET '10.88.0.1/24' has host bits set (did you mean 10.88.0.0/24?)");
  }
}
