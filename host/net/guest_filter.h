// What a guest on the user network may reach, enforced on each frame it
// sends before libslirp sees it. libslirp connects from the host on the
// guest's behalf, so left alone a guest reaches every service the host
// listens on at its own addresses (a server on 0.0.0.0 answers at the host's
// LAN address), and its connections to the virtual network's other
// addresses go out to the real network. What opens a flow in libslirp is
// checked: a TCP SYN, a UDP datagram, an ICMP packet (libslirp answers any
// other TCP segment that matches no connection with a reset itself, and
// replies within a forwarded connection must pass). They may go to:
//   - the gateway (10.0.2.2): ICMP and DHCP only;
//   - DNS at 10.0.2.3, port 53 only (libslirp sends that to the host's
//     resolver: any other port there would be the resolver host's);
//   - 10.0.2.4: the TCP ports the VM allows, nothing else;
//   - anywhere else but the host's own IPv4 addresses (read from its
//     interfaces, so an address added later is covered), 127/8 and 0/8.
// UDP from a guest port that a UDP forward serves passes (its replies).
// A refused TCP connection gets a reset (the guest sees "connection
// refused"), a UDP datagram an ICMP port unreachable, a ping the egress
// policy refuses an ICMP "administratively prohibited"; the rest is dropped.
//
// An egress policy (egress.h) narrows "anywhere else" to its rules. Then
// the guest's DNS is banger's too: a query for a name no rule allows is
// answered NXDOMAIN, a pinned name (--add-host) with its address, and an
// allowed one goes to the resolver, whose answer (observe) says which
// addresses the name allows, for the answer's TTL.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "host/net/egress.h"
#include "host/net/egress_decider.h"

namespace banger::net {

// The host's IPv4 addresses, every interface (network byte order).
std::set<uint32_t> host_ipv4_addresses();

class GuestFilter {
 public:
  using AttemptLog = std::function<void(const EgressAttempt&)>;
  // `allowed_tcp_ports`: served at kUserHostServices (user_net.h);
  // `udp_forwarded`: guest ports of UDP forwards (-p H:G/udp); `log` hears
  // every decision of a policy other than "all".
  explicit GuestFilter(std::vector<int> allowed_tcp_ports, std::vector<int> udp_forwarded = {},
                       EgressPolicy policy = {}, AttemptLog log = {});

  // Decides on one Ethernet frame from the guest: true passes it on; false
  // drops it, with `reply` set to the frame that refuses (or answers) it.
  bool admit(std::string_view frame, std::string& reply);
  // Reads a frame on its way to the guest: the resolver's answers for
  // allowed names.
  void observe(std::string_view frame);
  // A new policy, for connections from now on (what was learned from DNS
  // answers is kept; a name it no longer allows admits nothing).
  void set_policy(EgressPolicy policy);

  // Fixes the host's addresses instead of reading the interfaces (tests).
  void set_host_addresses(std::set<uint32_t> addrs);

 private:
  bool is_host(uint32_t addr, bool new_connection);

  bool virtual_network_admits(uint32_t dst, uint8_t proto, bool whole_l4, uint16_t dport) const;
  bool filters_dns() const;
  // A DNS query to the resolver under a policy: true passes it on; else
  // `answer` is banger's own reply (DNS message), or empty to refuse it.
  bool admit_dns(std::string_view msg, std::string& answer);

  uint32_t network_, mask_, gateway_, dns_, services_;  // network byte order
  std::set<int> allowed_, udp_forwarded_;
  std::set<uint32_t> host_;
  EgressDecider decider_;
  AttemptLog log_;
  int64_t read_at_ms_ = -1;  // when host_ was read; -1: never (or fixed)
  bool fixed_ = false;
};

}  // namespace banger::net
