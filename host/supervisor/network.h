// The network a supervisor sets up for its VM before the VMM starts and
// releases after it exits: nothing for `user` mode (QEMU does it), a tap on
// banger's bridge with NAT for `tap` mode.
#pragma once

#include <memory>
#include <string>

#include "host/net/config.h"
#include "host/net/egress.h"
#include "host/net/net_log.h"
#include "host/net/tap_egress.h"
#include "host/vm/spec.h"

namespace banger::supervisor {

struct NetState {
  std::string tap;  // empty: nothing to release
  std::string ip;
  long long index = -1;  // the tap's address index (its egress rules are set by it)
  net::Config cfg;
  std::string net_log;  // the VM's network log (`vm logs --net`)
  // Tap mode under a policy with a say in DNS: the VM's DNS relay and name
  // sets (made by the first such policy, kept for the VM's life).
  std::shared_ptr<net::NetLog> log;
  std::shared_ptr<net::TapEgress> egress;
};

// Sets up the host side of spec.net.mode and fills in `spec.net` with it:
// for tap, the tap of address index `index` (the state index's pool), a
// firewall opening per spec.net.allow_host, and the egress policy.
NetState setup_network(const std::string& name, long long index, vm::Spec& spec);
void teardown_network(const std::string& name, NetState& net);

// Tap mode: VM `name`'s egress policy, at its start and on `vm set`.
void set_tap_egress(const std::string& name, NetState& net, const net::EgressPolicy& policy);

}  // namespace banger::supervisor
