// banger's own nftables tables, and nothing else:
//   table inet TABLE    masquerade of the subnet's outbound traffic, an
//                       input filter: traffic arriving from the bridge for
//                       the host itself is dropped except replies, ping and
//                       the ports explicitly allowed per VM; a forward
//                       chain `egress` with the egress policies of VMs
//                       that have one, and sets of the addresses their
//                       name rules allow; and a nat chain `dns_relay` that
//                       sends such a VM's DNS to banger's relay;
//   table bridge TABLE  per-tap anti-spoofing: a tap may only send its VM's
//                       MAC and IP (so the per-VM allow rules, keyed by
//                       source address, mean what they say).
// Every per-VM rule carries the comment "vm=OWNER:NAME" (OWNER: the
// installation, Config::owner; " relay" after it on the relay's rules), and
// every per-VM set has OWNER:NAME in its name; teardown and reconcile delete
// rules by that comment (through their handles), never by position, and
// sets by that name, and only their own.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "host/net/config.h"
#include "host/net/egress.h"

namespace banger::net {

bool tables_exist(const Config& cfg);
// Whether either table exists (one `nft list tables`).
bool any_table_exists(const Config& cfg);
// Creates whichever of the two tables is missing (each in one transaction).
void ensure_tables(const Config& cfg);
void delete_tables(const Config& cfg);

// The anti-spoofing rules of one VM's tap.
void add_vm_rules(const Config& cfg, const std::string& vm, const std::string& tap, const std::string& mac,
                  const std::string& ip);
// Lets VM `vm` (source `ip`) reach the host's `proto` (tcp/udp) `port`.
void add_allow_rule(const Config& cfg, const std::string& vm, const std::string& ip, const std::string& proto,
                    int port);
// Where a tap VM's DNS goes when its policy has a say in it (dns_gate.h):
// banger's relay (tap_egress.h) at gateway:port. port 0: no relay.
struct DnsRelay {
  std::string gateway;
  int port = 0;
  int log_group = -1;  // the nflog group each new flow's verdict is logged to (-1: none)
  int hook_port = 0;   // with a hook: the relay's TCP listener for the flows no rule admits
  int tcp_port = 0;    // the relay's DNS over TCP (answers too large for a datagram)
};

// The prefixes of those log lines: the flow passed, or was refused.
inline constexpr const char* kLogAllowed = "banger-allowed";
inline constexpr const char* kLogRefused = "banger-refused";

// VM `vm`'s (source `ip`) egress policy `p` in tap mode, replacing the one
// it had: its established flows pass, then what each address rule admits,
// then the addresses its name rules were answered with (two sets of the
// VM's, filled by change_name_elements); the rest is refused (a TCP reset,
// an ICMP port unreachable). "all" leaves no egress rule. With a relay, all
// of the guest's UDP DNS is redirected to it (and only it may be reached on
// the host for that), and each new flow's verdict is logged to its group.
// With a hook, a new TCP connection no rule admits is redirected to the
// relay's hook listener instead (tap_egress.h). The sets start empty.
void set_egress_rules(const Config& cfg, const std::string& vm, const std::string& ip, const EgressPolicy& p,
                      const DnsRelay& relay = {});

// One address a name rule admits: every port and protocol (port 0), or
// TCP/UDP `port`.
struct NameElement {
  uint32_t addr = 0;  // host byte order
  int port = 0;
  bool udp = false;
  bool operator<(const NameElement& o) const {
    return addr != o.addr ? addr < o.addr : port != o.port ? port < o.port : udp < o.udp;
  }
};
// Adds and removes addresses of VM `vm`'s name sets (set_egress_rules made
// them), in one transaction; removing one that is not there is an error.
void change_name_elements(const Config& cfg, const std::string& vm, const std::vector<NameElement>& add,
                          const std::vector<NameElement>& remove);
// Deletes every rule of this installation's VM `vm`; returns how many.
int remove_vm_rules(const Config& cfg, const std::string& vm);
// This installation's VMs that own at least one rule.
std::set<std::string> rule_owners(const Config& cfg);
// Whether any installation has per-VM rules in the tables.
bool any_vm_rules(const Config& cfg);

// The whole of banger's tables as `nft list` prints them (for tests, doctor).
std::string list_tables(const Config& cfg);

}  // namespace banger::net
