#include "host/supervisor/network.h"

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/net/auto_net.h"
#include "host/net/config.h"
#include "host/net/dns_gate.h"
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
  NetState state;
  state.tap = t.tap;
  state.ip = t.ip;
  state.index = index;
  state.cfg = cfg;
  state.net_log = spec.state_dir + "/net.log";
  try {
    for (const auto& h : spec.net.allow_host) net::allow_host_port(cfg, name, index, h.port, h.proto);
    net::EgressPolicy egress = net::parse_egress(spec.net.egress, spec.net.add_hosts, spec.net.egress_hook,
                                                 spec.net.egress_hook_name);
    set_tap_egress(name, state, egress);
    // Its DNS is redirected to the relay whatever server it asks; asking
    // the gateway works also where the host has no resolver a guest reaches.
    if (state.egress) spec.net.dns = t.gateway;
  } catch (const Error&) {
    teardown_network(name, state);
    throw;
  }
  return state;
}

void set_tap_egress(const std::string& name, NetState& net, const net::EgressPolicy& policy) {
  if (net.egress) {
    net.egress->set_policy(policy);
    return;
  }
  if (!net::policy_filters_dns(policy)) {
    net::set_egress(net.cfg, name, net.index, policy);
    return;
  }
  if (!net.log) net.log = std::make_shared<net::NetLog>(net.net_log);
  std::shared_ptr<net::NetLog> log = net.log;
  auto egress = std::make_shared<net::TapEgress>(net.cfg, name, net.index,
                                                 [log](const net::EgressAttempt& a) { log->write(a); });
  egress->set_policy(policy);
  net.egress = std::move(egress);
}

void teardown_network(const std::string& name, NetState& net) {
  if (net.tap.empty()) return;
  net.egress.reset();  // its relay stops before its rules go
  try {
    net::teardown(net::config_from_env(), name);
  } catch (const Error& e) {
    // Reported, not fatal: the next reconcile removes what is left.
    spdlog::error("VM '{}': releasing its network: {}", name, e.message());
  }
}

}  // namespace banger::supervisor
