#include "host/net/egress_decider.h"

#include <netinet/in.h>
#include <time.h>

#include <iterator>

#include "host/net/dns_gate.h"

namespace banger::net {

namespace {

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

const char* proto_name(uint8_t proto) {
  return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "icmp";
}

void EgressDecider::learn(const std::string& name, uint32_t addr, uint32_t ttl_s) {
  int64_t now = now_ms();
  ttl_s = clamp_ttl(ttl_s);
  for (auto it = learned_.begin(); it != learned_.end();) {
    bool same = it->first == addr && it->second.name == name;
    it = (same || it->second.expires_ms <= now) ? learned_.erase(it) : std::next(it);
  }
  while (learned_.size() >= kMaxLearned) {
    auto oldest = learned_.begin();
    for (auto it = learned_.begin(); it != learned_.end(); ++it)
      if (it->second.expires_ms < oldest->second.expires_ms) oldest = it;
    learned_.erase(oldest);
  }
  learned_.insert({addr, {name, now + static_cast<int64_t>(ttl_s) * 1000}});
}

bool EgressDecider::admits(uint32_t dst, uint8_t proto, int port, EgressAttempt& a) {
  a.proto = proto_name(proto);
  a.dst = dst;
  a.port = port;
  if (policy_.mode == EgressPolicy::Mode::all) {
    a.allowed = true;
    a.why = "all";
    return true;
  }
  if (policy_.mode == EgressPolicy::Mode::none) {
    a.why = "egress none";
    return false;
  }
  if (const EgressRule* r = policy_.match_address(dst, proto, port)) {
    a.allowed = true;
    a.why = "rule " + r->text;
    return true;
  }
  int64_t now = now_ms();
  auto range = learned_.equal_range(dst);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.expires_ms <= now) continue;
    a.name = it->second.name;
    if (const EgressRule* r = policy_.match_name(it->second.name, proto, port)) {
      a.allowed = true;
      a.why = "rule " + r->text;
      return true;
    }
  }
  if (policy_.hook) return a.allowed = policy_.hook->decide(a, a.why);
  a.why = a.name.empty() ? "no rule" : "no rule for this port";
  return false;
}

}  // namespace banger::net
