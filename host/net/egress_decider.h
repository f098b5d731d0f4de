// The verdict of an egress policy (egress.h) on a guest's new flow to an
// address beyond banger's own network, with what DNS answers taught
// (dns_gate.h): the one decision of user mode (guest_filter.h, on the
// frames to libslirp) and tap mode (tap_egress.h, on the packets the kernel
// queues to the supervisor).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "host/net/egress.h"

namespace banger::net {

class EgressDecider {
 public:
  static constexpr size_t kMaxLearned = 4096;  // addresses kept (the soonest to expire go first)

  explicit EgressDecider(EgressPolicy policy = {}) : policy_(std::move(policy)) {}

  // A new policy for the flows from now on. What DNS answers taught is kept:
  // a name the new policy no longer allows admits nothing.
  void set_policy(EgressPolicy policy) { policy_ = std::move(policy); }
  const EgressPolicy& policy() const { return policy_; }

  // `addr` (host byte order) answered for `name`, for `ttl_s` (clamp_ttl).
  void learn(const std::string& name, uint32_t addr, uint32_t ttl_s);
  // Decides on a flow to `dst` (host byte order) `port` over `proto`
  // (IPPROTO_*), filling in `a` (proto, dst, port, the name it came from,
  // verdict, why); true admits.
  bool admits(uint32_t dst, uint8_t proto, int port, EgressAttempt& a);

  struct Learned {
    std::string name;
    int64_t expires_ms;  // CLOCK_MONOTONIC
  };
  // What answers taught, by address (host byte order), expired ones too.
  const std::multimap<uint32_t, Learned>& learned() const { return learned_; }

 private:
  EgressPolicy policy_;
  std::multimap<uint32_t, Learned> learned_;  // address (host order) -> the allowed name it answered
};

// "tcp", "udp" or "icmp".
const char* proto_name(uint8_t proto);

}  // namespace banger::net
