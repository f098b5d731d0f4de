#include "host/supervisor/network.h"

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/net/auto_net.h"
#include "host/net/config.h"
#include "host/net/tap.h"

namespace banger::supervisor {

NetState setup_network(const std::string& name, long long index, vm::Spec& spec) {
  if (spec.net.mode != "tap") return {};  // user and none need nothing from the host
  // This installation's own subnet and bridge, chosen against the others'
  // on the host unless BANGER_SUBNET/BANGER_BRIDGE force one.
  net::Config cfg = net::settle_network(net::config_from_env());
  net::TapSetup t = net::setup_tap(cfg, name, index);
  spec.net.tap = t.tap;
  spec.net.mac = t.mac;
  spec.net.address = t.address();
  spec.net.gateway = t.gateway;
  spec.net.dns = t.dns_list();
  NetState state{t.tap, t.ip, index};
  try {
    for (const auto& h : spec.net.allow_host) net::allow_host_port(cfg, name, index, h.port, h.proto);
    net::EgressPolicy egress = net::parse_egress(spec.net.egress, spec.net.add_hosts, spec.net.egress_hook,
                                                 spec.net.egress_hook_name);
    if (egress.mode != net::EgressPolicy::Mode::all) net::set_egress(cfg, name, index, egress);
  } catch (const Error&) {
    teardown_network(name, state);
    throw;
  }
  return state;
}

void teardown_network(const std::string& name, const NetState& net) {
  if (net.tap.empty()) return;
  try {
    net::teardown(net::config_from_env(), name);
  } catch (const Error& e) {
    // Reported, not fatal: the next reconcile removes what is left.
    spdlog::error("VM '{}': releasing its network: {}", name, e.message());
  }
}

}  // namespace banger::supervisor
