#include "host/net/dns_gate.h"

#include <algorithm>

namespace banger::net {

bool policy_filters_dns(const EgressPolicy& p) {
  return p.mode != EgressPolicy::Mode::all || !p.hosts.empty();
}

uint32_t clamp_ttl(uint32_t ttl_s) { return std::min(std::max(ttl_s, kMinTtlS), kMaxTtlS); }

DnsDecision judge_query(const EgressPolicy& p, std::string_view msg) {
  DnsDecision d;
  d.attempt.proto = "dns";
  d.attempt.port = 53;
  auto q = dns::parse_query(msg);
  if (!q) {
    d.attempt.why = "not a DNS query";
    return d;
  }
  d.attempt.name = q->name;
  auto pin = p.hosts.find(q->name);
  if (pin != p.hosts.end()) {
    d.kind = DnsDecision::Kind::answer;
    d.answer = dns::pinned(msg, *q, pin->second, kPinnedTtlS);
    d.pinned = pin->second;
    d.attempt.allowed = true;
    d.attempt.why = "pinned by --add-host";
  } else if (p.mode == EgressPolicy::Mode::all) {
    d.kind = DnsDecision::Kind::pass;
    d.attempt.allowed = true;
    d.attempt.why = "all";
    d.logged = false;  // only pins are answered here; nothing to log under "all"
  } else if (const EgressRule* r = p.match_name(q->name)) {
    d.kind = DnsDecision::Kind::pass;
    d.attempt.allowed = true;
    d.attempt.why = "rule " + r->text;
  } else if (p.hook) {
    // The hook decides on the connections, by name too: every name resolves.
    d.kind = DnsDecision::Kind::pass;
    d.attempt.allowed = true;
    d.attempt.why = "for the hook";
  } else {
    d.kind = DnsDecision::Kind::answer;
    d.answer = dns::nxdomain(msg, *q);
    d.attempt.why = "no rule";
  }
  return d;
}

DnsLearned allowed_answer(const EgressPolicy& p, std::string_view msg) {
  DnsLearned out;
  auto answer = dns::parse_response(msg);
  if (!answer) return out;
  out.name = answer->question.name;
  // Only what an allowed name resolved to is learned (any name, for a hook).
  if (!p.hook && !p.match_name(out.name)) return out;
  out.addresses = answer->addresses;
  return out;
}

}  // namespace banger::net
