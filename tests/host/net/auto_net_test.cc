#include <catch2/catch.hpp>

#include "host/net/auto_net.h"

using namespace banger::net;

namespace {

Config automatic(int slot = -1) {
  Config c;
  c.automatic = true;
  c.owner = "hmine";
  use_slot(c, slot < 0 ? 0 : slot);
  c.slot = slot;
  return c;
}

}  // namespace

TEST_CASE("auto net: slot N is bangerN with 10.77.N.0/24 - slot 0 keeps banger's original names", "[net]") {
  Config c;
  use_slot(c, 0);
  CHECK(c.bridge == "banger0");
  CHECK(c.subnet.cidr() == "10.77.0.0/24");
  CHECK(c.table == "banger");
  CHECK(c.tap_prefix == "bg-");
  use_slot(c, 12);
  CHECK(c.bridge == "banger12");
  CHECK(c.subnet.cidr() == "10.77.12.0/24");
  CHECK(c.table == "banger_banger12");
  CHECK(c.tap_prefix.size() == 6);
  CHECK(c.slot == 12);
}

TEST_CASE("auto net: an installation gets the lowest slot nobody else uses or claims", "[net]") {
  NetView view;
  CHECK(choose_slot(automatic(), "/home/a", view) == 0);
  // Another installation's bridge with its VMs on it.
  view.links = {{"banger0", "", "", "bridge", true},
                {"bg-web-123456", "banger0", "banger:hother:web:10.77.0.2", "tun", true}};
  view.routes = {{"10.77.0.0/24", "banger0"}};
  CHECK(choose_slot(automatic(), "/home/a", view) == 1);
  // A claim of another home, even with no bridge up (its VMs are stopped).
  view.claims = {{1, "/home/b"}};
  CHECK(choose_slot(automatic(), "/home/a", view) == 2);
  // A LAN or VPN route over a slot's subnet.
  view.routes.push_back({"10.77.2.0/23", "eth0"});
  CHECK(choose_slot(automatic(), "/home/a", view) == 4);
}

TEST_CASE("auto net: an installation keeps its slot while it is free for it, and moves when it is not",
          "[net]") {
  NetView view;
  view.claims = {{5, "/home/a"}};
  // Its own bridge, claimed by it, with its own taps.
  view.links = {{"banger5", "", "", "bridge", true},
                {"b1234-x-abcdef", "banger5", "banger:hmine:x:10.77.5.2", "tun", true}};
  view.routes = {{"10.77.5.0/24", "banger5"}};
  CHECK(choose_slot(automatic(5), "/home/a", view) == 5);
  // Someone else took it meanwhile (this installation had no VM running).
  view.claims = {{5, "/home/b"}};
  view.links = {{"banger5", "", "", "bridge", true}};
  CHECK(choose_slot(automatic(5), "/home/a", view) == 0);
}

TEST_CASE("auto net: no free slot is none", "[net]") {
  NetView view;
  for (int s = 0; s < kSlots; s++) view.claims.push_back({s, "/home/other" + std::to_string(s)});
  CHECK(choose_slot(automatic(), "/home/a", view) == -1);
}
