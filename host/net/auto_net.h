// The tap network of an installation that forces none (no BANGER_SUBNET, no
// BANGER_BRIDGE): chosen per installation, so two of them on one host (a
// user's own VMs, a CI job, the test suite) never meet on one subnet.
//
// Slot N is bridge bangerN with 10.77.N.0/24. An installation keeps its
// slot in $BANGER_HOME/net.json and claims it host-wide in
// /run/lock/banger-net/slot-N (naming its home). A slot is free for an
// installation when no live claim of another home names it, its bridge
// does not exist (or carries this installation's taps), and no route on
// another link overlaps its subnet. A claim is stale once its home is gone
// or has chosen another slot.
#pragma once

#include <string>
#include <vector>

#include "host/net/config.h"
#include "host/net/link.h"

namespace banger::net {

// What a choice looks at: the host's links and routes, and the claims
// (slot -> the claiming home) that are still live.
struct NetView {
  std::vector<Link> links;
  std::vector<Route> routes;
  std::vector<std::pair<int, std::string>> claims;
};

// Pure: the slot `cfg` (of installation `home`) should use: its own slot
// while that is free for it, else the lowest free one; -1 when none is.
int choose_slot(const Config& cfg, const std::string& home, const NetView& view);

// For an automatic config: under the host-wide lock, keeps or chooses the
// slot (choose_slot on the live host), records it (net.json and the claim)
// and returns the config for it. A forced config is returned as it is.
// Conflict error when no slot is free.
Config settle_network(const Config& cfg);

// The claims directory (tests point it elsewhere).
std::string claims_dir();

}  // namespace banger::net
