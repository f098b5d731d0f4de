// Egress policy: what a guest may reach beyond banger's own virtual
// network. A policy is "all" (everything but the host itself: today's
// behaviour), "none", or an allow-list of rules, written
//   ADDR[/BITS][:PORT[/udp]]   an IPv4 address or CIDR block; with a port,
//                              only that TCP port (UDP with /udp);
//                              without one, every port and protocol
//   NAME[:PORT[/udp]]          a DNS name, or *.example.com for its
//                              subdomains: the addresses the guest's DNS
//                              answers for it gave, for as long as the
//                              answer's TTL
// and pinned names (`--add-host NAME:IP`), which DNS answers itself.
// The parser here is the one contract: the CLI checks rules with it before
// a VM is made, and the supervisor enforces what it parsed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/net/egress_hook.h"

namespace banger::net {

struct EgressRule {
  std::string text;  // as written: named in verdicts and logs
  std::string name;  // a name rule's name ("*.example.com" kept as written), else empty
  uint32_t net = 0;  // an address rule's network (host byte order)
  int bits = 32;
  int port = 0;      // 0: every port and protocol
  bool udp = false;  // with a port: UDP instead of TCP
};

// One decision of the egress policy, for the VM's network log.
struct EgressAttempt {
  std::string proto;  // "tcp", "udp", "icmp", "dns"
  uint32_t dst = 0;   // host byte order (dns: the resolver)
  int port = 0;
  std::string name;  // dns: the name asked; else the allowed name the address came from, if any
  bool allowed = false;
  std::string why;  // "rule 10.0.0.5:8080", "no rule", "pinned by --add-host", ...
};

struct EgressPolicy {
  enum class Mode { all, none, list };
  Mode mode = Mode::all;
  std::vector<EgressRule> rules;
  std::map<std::string, uint32_t> hosts;  // --add-host: name (lower case) -> IPv4 (host byte order)
  // The project's hook (egress_hook.h): asked about each flow no rule
  // admits; with one, every name resolves (the hook sees it as conn.name).
  std::shared_ptr<EgressHook> hook;
  std::string hook_name;

  bool has_name_rules() const;
  // The rule that admits a flow to `dst` (host byte order) `port` over
  // TCP/UDP/ICMP (`proto`: IPPROTO_*), reached by address; nullptr if none.
  const EgressRule* match_address(uint32_t dst, uint8_t proto, int port) const;
  // The name rule that admits `name` (lower case, no trailing dot) at all,
  // and the one that admits it with `proto`/`port`; nullptr if none.
  const EgressRule* match_name(const std::string& name) const;
  const EgressRule* match_name(const std::string& name, uint8_t proto, int port) const;
  // Every name rule that admits `name` (tap mode turns each into set elements).
  std::vector<const EgressRule*> name_rules_for(const std::string& name) const;
  // What ls/inspect show: "all", "none", or the rules joined by ", ".
  std::string describe() const;
};

// Parses --egress rules and --add-host pins, and loads the hook (Lua
// `hook_source`, from `hook_name`; none when empty); invalid_input naming
// the bad one. No rules and no hook: "all". "all" and "none" stand alone.
EgressPolicy parse_egress(const std::vector<std::string>& rules,
                          const std::vector<std::string>& add_hosts = {}, const std::string& hook_source = {},
                          const std::string& hook_name = {});

// A DNS name as a rule and a query compare it: lower case, no trailing dot.
std::string normalize_name(const std::string& name);

}  // namespace banger::net
