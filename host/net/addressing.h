// The pure part of tap networking: the subnet, which address an index of the
// state index's pool means, and the names and MAC a VM gets. No side effects,
// so tests pin them exactly.
#pragma once

#include <cstdint>
#include <string>

namespace banger::net {

// An IPv4 subnet such as 10.77.0.0/24. The gateway (the bridge's address) is
// network+1; VM addresses are network+2 .. broadcast-1, so the state index's
// address pool is [first(), last()] and index i means network+i.
struct Subnet {
  uint32_t network = 0;  // host byte order, host bits zero
  int prefix = 24;

  std::string cidr() const;  // "10.77.0.0/24"
  std::string gateway() const;
  long long first() const { return 2; }
  long long last() const;
  // The VM address for pool index `i`; invalid_input outside [first, last].
  std::string address(long long index) const;
  bool contains(uint32_t addr) const;
};

// Parses "A.B.C.D/P" (P in 16..29; host bits must be zero). `from` names the
// source in the error ("BANGER_SUBNET").
Subnet parse_subnet(const std::string& text, const std::string& from = "subnet");

// Parses a dotted quad into host byte order; false when malformed.
bool parse_ipv4(const std::string& text, uint32_t* out);
std::string format_ipv4(uint32_t addr);

// The tap of VM `name`: PREFIX + up to the first few name characters + "-" +
// a hash, at most 15 characters (IFNAMSIZ - 1), stable for a name.
std::string tap_name(const std::string& prefix, const std::string& name);

// `digits` hex digits of a stable 64-bit hash of `text` (FNV-1a).
std::string short_hash(const std::string& text, int digits);

// A stable, locally administered unicast MAC for VM `name` ("52:xx:xx:xx:xx:xx").
std::string mac_address(const std::string& name);

}  // namespace banger::net
