// Tap networking for VMs: a bridge with the subnet's gateway address, one tap
// per VM attached to it, and banger's nftables tables (see firewall.h).
//
// Lifecycle: setup_tap creates the bridge and tables on demand; teardown
// removes the VM's tap and rules, and when no banger tap is left on the
// bridge, the bridge and the tables too (nothing stays behind after the last
// `vm rm`). reconcile removes taps and rules of VMs that are gone. All of it
// runs under one file lock (Config::lock_path), so banger processes may call
// it at once. Needs root or CAP_NET_ADMIN (see privilege.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "host/net/config.h"
#include "host/net/egress.h"
#include "host/net/firewall.h"

namespace banger::net {

// Creates the bridge (idempotent): banger0 with GATEWAY/PREFIX, up. Fails
// with a conflict error when another link already routes the subnet.
void ensure_bridge(const Config& cfg);

// What a VM's tap is: data for the VMM layer, which renders QEMU's -netdev /
// -device flags and the guest's banger.ip=/gw=/dns= (host/vm/qemu_command.h).
struct TapSetup {
  std::string tap;
  std::string mac;
  std::string ip;
  std::string gateway;
  int prefix = 24;
  std::vector<std::string> dns;
  std::string address() const { return ip + "/" + std::to_string(prefix); }  // "10.77.0.5/24"
  std::string dns_list() const;                                              // "A,B"
};

// Sets up VM `name`'s tap for address index `index` (from the state index's
// pool [cfg.subnet.first(), cfg.subnet.last()]). Idempotent: an existing link
// of the tap's name labelled for this VM (or unlabelled) is reused and its
// rules replaced; one labelled for another VM is a conflict error, and so is
// the address held by another installation's tap on the bridge.
TapSetup setup_tap(const Config& cfg, const std::string& name, long long index);

// What setup_tap would return, without touching the host.
TapSetup describe_tap(const Config& cfg, const std::string& name, long long index);

// Lets VM `name` (at `index`) reach the host's PROTO/PORT on any host address.
void allow_host_port(const Config& cfg, const std::string& name, long long index, int port,
                     const std::string& proto = "tcp");

// VM `name`'s (at `index`) egress policy in tap mode (firewall.h's
// set_egress_rules), replacing the one it had; `relay`: where its DNS goes.
void set_egress(const Config& cfg, const std::string& name, long long index, const EgressPolicy& policy,
                const DnsRelay& relay = {});

// Removes VM `name`'s tap and rules (missing ones are fine); the bridge and
// tables go with the last banger tap. Returns true when anything was removed.
bool teardown(const Config& cfg, const std::string& name);

// Deletes this installation's taps (prefix + "banger:OWNER:" label) and
// rules whose VM is not in `known`; then the bridge and tables when no tap
// and no rule of any installation is left. Other installations' taps and
// rules are never touched.
// Returns the names of the VMs whose leftovers were removed.
std::vector<std::string> reconcile(const Config& cfg, const std::vector<std::string>& known);
// The same, asking `alive(vm)` under the network lock for a VM not in
// `known`: one whose supervisor started after the caller listed the VMs
// keeps the tap it has just set up.
std::vector<std::string> reconcile(const Config& cfg, const std::vector<std::string>& known,
                                   const std::function<bool(const std::string&)>& alive);

}  // namespace banger::net
