// banger's own nftables tables, and nothing else:
//   table inet TABLE    masquerade of the subnet's outbound traffic, an
//                       input filter: traffic arriving from the bridge for
//                       the host itself is dropped except replies, ping and
//                       the ports explicitly allowed per VM; and a forward
//                       chain `egress` with the egress policies of VMs
//                       that have one;
//   table bridge TABLE  per-tap anti-spoofing: a tap may only send its VM's
//                       MAC and IP (so the per-VM allow rules, keyed by
//                       source address, mean what they say).
// Every per-VM rule carries the comment "vm=OWNER:NAME" (OWNER: the
// installation, Config::owner); teardown and reconcile delete rules by that
// comment (through their handles), never by position, and only their own.
#pragma once

#include <set>
#include <string>

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
// VM `vm`'s (source `ip`) egress policy `p` in tap mode, replacing the one
// it had: its established flows pass, then what each address rule admits;
// the rest is refused (a TCP reset, an ICMP port unreachable). "all" leaves
// no rule. Name rules, pins and hooks are refused: they work in user
// networking only for now.
void set_egress_rules(const Config& cfg, const std::string& vm, const std::string& ip, const EgressPolicy& p);
// Deletes every rule of this installation's VM `vm`; returns how many.
int remove_vm_rules(const Config& cfg, const std::string& vm);
// This installation's VMs that own at least one rule.
std::set<std::string> rule_owners(const Config& cfg);
// Whether any installation has per-VM rules in the tables.
bool any_vm_rules(const Config& cfg);

// The whole of banger's tables as `nft list` prints them (for tests, doctor).
std::string list_tables(const Config& cfg);

}  // namespace banger::net
