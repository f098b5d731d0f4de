// The network a supervisor sets up for its VM before the VMM starts and
// releases after it exits: nothing for `user` mode (QEMU does it), a tap on
// banger's bridge with NAT for `tap` mode.
#pragma once

#include <string>

#include "host/vm/spec.h"

namespace banger::supervisor {

struct NetState {
  std::string tap;  // empty: nothing to release
  std::string ip;
  long long index = -1;  // the tap's address index (its egress rules are set by it)
};

// Sets up the host side of spec.net.mode and fills in `spec.net` with it:
// for tap, the tap of address index `index` (the state index's pool) and a
// firewall opening per spec.net.allow_host.
NetState setup_network(const std::string& name, long long index, vm::Spec& spec);
void teardown_network(const std::string& name, const NetState& net);

}  // namespace banger::supervisor
