#include "host/supervisor/network.h"

#include "host/core/error.h"

namespace banger::supervisor {

NetState setup_network(const std::string& name, const nlohmann::json& spec_json, vm::Spec& spec) {
  if (spec.net.mode == "user" || spec.net.mode == "none") return {};
  fail(ErrorKind::unsupported, "network mode '" + spec.net.mode + "' is not supported yet",
       "use --net user");
}

void teardown_network(const std::string& name, const NetState& net) {}

}  // namespace banger::supervisor
