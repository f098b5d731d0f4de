// What an egress policy (egress.h) makes of a guest's DNS, the same in user
// mode (guest_filter.h, on the frames to libslirp's resolver) and in tap mode
// (tap_dns.h, on the queries banger's relay receives): a query for a pinned
// name (--add-host) is answered with its address, one for a name no rule
// allows with NXDOMAIN, and one for an allowed name (any name, under a hook)
// goes on to the resolver, whose response then says which addresses the
// name allows, for the answer's TTL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/net/dns_message.h"
#include "host/net/egress.h"

namespace banger::net {

// What DNS answers teach is kept for their TTL, within these bounds; a pin
// is answered (and kept) with kPinnedTtlS.
constexpr uint32_t kMinTtlS = 5, kMaxTtlS = 86400;
constexpr uint32_t kPinnedTtlS = 60;

// Whether the policy has a say in DNS: anything but "all", or pins.
bool policy_filters_dns(const EgressPolicy& p);

struct DnsDecision {
  enum class Kind { pass, answer, refuse };
  Kind kind = Kind::refuse;
  std::string answer;     // Kind::answer: banger's own response
  EgressAttempt attempt;  // proto "dns", the name, the verdict (dst and port: the caller's)
  bool logged = true;     // false: nothing worth a line (a pass under "all")
  uint32_t pinned = 0;    // a pin's address (host byte order), learned by the caller; 0: none
};

// The verdict on query `msg` from the guest.
DnsDecision judge_query(const EgressPolicy& p, std::string_view msg);

// What resolver response `msg` allows: its name and A records when the
// name is allowed (any name, under a hook); no addresses otherwise.
struct DnsLearned {
  std::string name;
  std::vector<dns::Address> addresses;
};
DnsLearned allowed_answer(const EgressPolicy& p, std::string_view msg);

// `ttl_s` within [kMinTtlS, kMaxTtlS].
uint32_t clamp_ttl(uint32_t ttl_s);

}  // namespace banger::net
