#include "host/net/addressing.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

#include "host/core/error.h"

namespace banger::net {

namespace {

// FNV-1a, 64 bits: stable across builds and machines (std::hash is not).
uint64_t fnv1a(const std::string& s, uint64_t seed = 0xcbf29ce484222325ull) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

bool parse_ipv4(const std::string& text, uint32_t* out) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

std::string format_ipv4(uint32_t addr) {
  char buf[INET_ADDRSTRLEN];
  in_addr a{};
  a.s_addr = htonl(addr);
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string Subnet::cidr() const { return format_ipv4(network) + "/" + std::to_string(prefix); }

std::string Subnet::gateway() const { return format_ipv4(network + 1); }

long long Subnet::last() const { return (1ll << (32 - prefix)) - 2; }

std::string Subnet::address(long long index) const {
  if (index < first() || index > last())
    fail(ErrorKind::invalid_input,
         "address index " + std::to_string(index) + " is outside subnet " + cidr() + "'s pool " +
             std::to_string(first()) + ".." + std::to_string(last()),
         "reserve the address from the state index with first=" + std::to_string(first()) +
             ", last=" + std::to_string(last()));
  return format_ipv4(network + static_cast<uint32_t>(index));
}

bool Subnet::contains(uint32_t addr) const {
  uint32_t mask = ~0u << (32 - prefix);
  return (addr & mask) == network;
}

Subnet parse_subnet(const std::string& text, const std::string& from) {
  const std::string hint = "use a private IPv4 /16 to /29 such as 10.77.0.0/24";
  size_t slash = text.find('/');
  uint32_t addr = 0;
  int prefix = -1;
  if (slash != std::string::npos && parse_ipv4(text.substr(0, slash), &addr)) {
    std::string p = text.substr(slash + 1);
    if (!p.empty() && p.size() <= 2 && p.find_first_not_of("0123456789") == std::string::npos)
      prefix = std::stoi(p);
  }
  if (prefix < 0)
    fail(ErrorKind::invalid_input, from + " '" + text + "' is not an IPv4 subnet (A.B.C.D/P)", hint);
  if (prefix < 16 || prefix > 29)
    fail(ErrorKind::invalid_input,
         from + " '" + text + "': prefix /" + std::to_string(prefix) + " is out of range (16 to 29)", hint);
  uint32_t mask = ~0u << (32 - prefix);
  if ((addr & ~mask) != 0)
    fail(ErrorKind::invalid_input,
         from + " '" + text + "' has host bits set (did you mean " + format_ipv4(addr & mask) + "/" +
             std::to_string(prefix) + "?)",
         hint);
  return Subnet{addr, prefix};
}

std::string tap_name(const std::string& prefix, const std::string& name) {
  // PREFIX SHORT "-" HASH with a 6-hex-digit hash (24 bits): the short part
  // only helps a human reading `ip link`; the hash keeps names apart.
  constexpr size_t kMax = 15, kHash = 6;
  if (prefix.size() + 1 + kHash > kMax)
    fail(ErrorKind::invalid_input, "tap prefix '" + prefix + "' is too long (at most 8 characters)");
  std::string shortname;
  size_t room = kMax - prefix.size() - 1 - kHash;
  for (char c : name) {
    if (shortname.size() >= room) break;
    if (isalnum(static_cast<unsigned char>(c))) shortname.push_back(static_cast<char>(tolower(c)));
  }
  char hash[16];
  snprintf(hash, sizeof hash, "%06llx", static_cast<unsigned long long>(fnv1a(name) & 0xffffff));
  return prefix + shortname + "-" + hash;
}

std::string short_hash(const std::string& text, int digits) {
  char buf[24];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(text)));
  return std::string(buf).substr(16 - std::min(std::max(digits, 1), 16));
}

std::string mac_address(const std::string& name) {
  uint64_t h = fnv1a(name, 0x6a09e667f3bcc908ull);
  char buf[32];
  // 0x52: locally administered (bit 1 set), unicast (bit 0 clear).
  snprintf(buf, sizeof buf, "52:%02x:%02x:%02x:%02x:%02x", static_cast<unsigned>(h >> 32) & 0xff,
           static_cast<unsigned>(h >> 24) & 0xff, static_cast<unsigned>(h >> 16) & 0xff,
           static_cast<unsigned>(h >> 8) & 0xff, static_cast<unsigned>(h) & 0xff);
  return buf;
}

}  // namespace banger::net
