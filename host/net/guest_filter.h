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
// refused"), a UDP datagram an ICMP port unreachable; the rest is dropped.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace banger::net {

// The host's IPv4 addresses, every interface (network byte order).
std::set<uint32_t> host_ipv4_addresses();

class GuestFilter {
 public:
  // `allowed_tcp_ports`: served at kUserHostServices (user_net.h);
  // `udp_forwarded`: guest ports of UDP forwards (-p H:G/udp).
  explicit GuestFilter(std::vector<int> allowed_tcp_ports, std::vector<int> udp_forwarded = {});

  // Decides on one Ethernet frame from the guest: true passes it on; false
  // drops it, with `reply` set to the frame that refuses it (or empty).
  bool admit(std::string_view frame, std::string& reply);

  // Fixes the host's addresses instead of reading the interfaces (tests).
  void set_host_addresses(std::set<uint32_t> addrs);

 private:
  bool is_host(uint32_t addr, bool new_connection);

  bool virtual_network_admits(uint32_t dst, uint8_t proto, bool whole_l4, uint16_t dport) const;

  uint32_t network_, mask_, gateway_, dns_, services_;  // network byte order
  std::set<int> allowed_, udp_forwarded_;
  std::set<uint32_t> host_;
  int64_t read_at_ms_ = -1;  // when host_ was read; -1: never (or fixed)
  bool fixed_ = false;
};

}  // namespace banger::net
