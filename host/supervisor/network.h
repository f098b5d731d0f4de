// The network a supervisor sets up for its VM before the VMM starts and
// releases after it exits: nothing for `user` mode (QEMU does it), a tap on
// banger's bridge with NAT for `tap` mode.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "host/vm/spec.h"

namespace banger::supervisor {

struct NetState {
  std::string tap;  // empty: nothing to release
  std::string ip;
};

// Adjusts `spec` (QEMU netdev, kernel command line) for the mode in
// spec_json["vm"]["net"]["mode"].
NetState setup_network(const std::string& name, const nlohmann::json& spec_json, vm::Spec& spec);
void teardown_network(const std::string& name, const NetState& net);

}  // namespace banger::supervisor
