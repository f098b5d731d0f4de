// The user network's filter on guest frames (host/net/guest_filter.h): built
// frames in, verdicts and refusal frames out. The end-to-end test with a
// real guest and a real listener is "e2e sandbox: user networking ...".
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <string>

#include "host/net/guest_filter.h"

using namespace banger::net;

namespace {

uint32_t ip(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;
}

uint16_t at16(const std::string& s, size_t i) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[i]) << 8 | static_cast<uint8_t>(s[i + 1]));
}
uint32_t at32(const std::string& s, size_t i) {
  return static_cast<uint32_t>(at16(s, i)) << 16 | at16(s, i + 2);
}

// The ones' complement sum of `len` bytes at `from` (0xffff when a header
// carrying its checksum is valid).
uint16_t sum16(const std::string& s, size_t from, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += at16(s, from + i);
  if (len & 1) sum += static_cast<uint32_t>(static_cast<uint8_t>(s[from + len - 1])) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

const std::string kGuestMac("\x52\x54\x00\x12\x34\x56", 6);
const std::string kGatewayMac("\x52\x55\x0a\x00\x02\x02", 6);

// An Ethernet frame from the guest (10.0.2.15) carrying an IPv4 packet.
std::string packet(const char* dst, uint8_t proto, const std::string& l4, uint16_t frag = 0) {
  std::string f = kGatewayMac + kGuestMac + std::string("\x08\x00", 2);
  std::string h(20, '\0');
  h[0] = 0x45;
  h[2] = static_cast<char>((20 + l4.size()) >> 8);
  h[3] = static_cast<char>(20 + l4.size());
  h[6] = static_cast<char>(frag >> 8);
  h[7] = static_cast<char>(frag);
  h[8] = 64;
  h[9] = static_cast<char>(proto);
  uint32_t src = ip("10.0.2.15"), d = ip(dst);
  h.replace(12, 4, reinterpret_cast<const char*>(&src), 4);
  h.replace(16, 4, reinterpret_cast<const char*>(&d), 4);
  return f + h + l4;
}

std::string tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags) {
  std::string t(20, '\0');
  t[0] = static_cast<char>(sport >> 8), t[1] = static_cast<char>(sport);
  t[2] = static_cast<char>(dport >> 8), t[3] = static_cast<char>(dport);
  for (int i = 0; i < 4; i++) t[4 + i] = static_cast<char>(seq >> (24 - 8 * i));
  t[12] = 0x50;
  t[13] = static_cast<char>(flags);
  return t;
}

std::string udp(uint16_t sport, uint16_t dport) {
  std::string u(12, '\0');
  u[0] = static_cast<char>(sport >> 8), u[1] = static_cast<char>(sport);
  u[2] = static_cast<char>(dport >> 8), u[3] = static_cast<char>(dport);
  u[5] = 12;
  u.replace(8, 4, "ping", 4);
  return u;
}

GuestFilter filter() {
  GuestFilter f({5432});
  f.set_host_addresses({ip("192.0.2.10"), ip("198.18.83.1")});
  return f;
}

}  // namespace

TEST_CASE("guest filter: a connection to one of the host's addresses is reset, with valid checksums",
          "[net]") {
  auto f = filter();
  std::string reply;
  CHECK_FALSE(f.admit(packet("198.18.83.1", 6, tcp(40000, 8080, 1000, 0x02)), reply));
  REQUIRE(reply.size() == 14 + 20 + 20);
  CHECK(reply.substr(0, 6) == kGuestMac);
  CHECK(reply.substr(6, 6) == kGatewayMac);
  CHECK(sum16(reply, 14, 20) == 0xffff);  // IP header checksum
  CHECK(at32(reply, 14 + 12) == ntohl(ip("198.18.83.1")));
  CHECK(at32(reply, 14 + 16) == ntohl(ip("10.0.2.15")));
  size_t t = 34;
  CHECK(at16(reply, t) == 8080);
  CHECK(at16(reply, t + 2) == 40000);
  CHECK(at32(reply, t + 8) == 1001);                   // acknowledges the SYN
  CHECK(static_cast<uint8_t>(reply[t + 13]) == 0x14);  // RST|ACK
  uint32_t pseudo = at16(reply, 26) + at16(reply, 28) + at16(reply, 30) + at16(reply, 32) + 6 + 20;
  CHECK(sum16(reply, t, 20, pseudo) == 0xffff);
  // Loopback and 0/8 (which Linux takes for the host itself) too.
  CHECK_FALSE(f.admit(packet("127.0.0.53", 6, tcp(40000, 53, 1, 0x02)), reply));
  CHECK_FALSE(f.admit(packet("0.0.0.0", 6, tcp(40000, 22, 1, 0x02)), reply));
  // A segment that opens nothing passes: a reply in a forwarded connection
  // (libslirp resets one that matches no connection itself).
  CHECK(f.admit(packet("192.0.2.10", 6, tcp(8000, 40000, 7, 0x12)), reply));
  CHECK(f.admit(packet("10.0.2.2", 6, tcp(8000, 40000, 7, 0x10) + "data"), reply));
  CHECK(reply.empty());
  // ICMP to the host is dropped without a word.
  CHECK_FALSE(f.admit(packet("192.0.2.10", 1, std::string("\x08\x00\x00\x00\x00\x01\x00\x01", 8)), reply));
  CHECK(reply.empty());
}

TEST_CASE(
    "guest filter: UDP from a forwarded guest port passes (its replies), other UDP to the host does not",
    "[net]") {
  GuestFilter f({}, {5353});
  f.set_host_addresses({ip("192.0.2.10")});
  std::string reply;
  CHECK(f.admit(packet("10.0.2.2", 17, udp(5353, 40000)), reply));
  CHECK_FALSE(f.admit(packet("10.0.2.2", 17, udp(5354, 40000)), reply));
  CHECK_FALSE(f.admit(packet("192.0.2.10", 17, udp(5354, 53)), reply));
  CHECK(reply[34] == 3);
}

TEST_CASE("guest filter: at 10.0.2.4 only the allowed TCP ports pass", "[net]") {
  auto f = filter();
  std::string reply;
  CHECK(f.admit(packet("10.0.2.4", 6, tcp(40000, 5432, 1, 0x02)), reply));
  CHECK(reply.empty());
  CHECK_FALSE(f.admit(packet("10.0.2.4", 6, tcp(40000, 5433, 1, 0x02)), reply));
  CHECK(static_cast<uint8_t>(reply[34 + 13]) == 0x14);
  // UDP there is refused with an ICMP port unreachable quoting the datagram.
  CHECK_FALSE(f.admit(packet("10.0.2.4", 17, udp(5000, 5432)), reply));
  REQUIRE(reply.size() == 14 + 20 + 8 + 28);
  CHECK(reply[14 + 9] == 1);
  CHECK(reply[34] == 3);
  CHECK(reply[35] == 3);
  CHECK(sum16(reply, 34, 8 + 28) == 0xffff);
  CHECK(at16(reply, 34 + 8 + 20 + 2) == 5432);
  // A fragment carries no port to check: dropped.
  CHECK_FALSE(f.admit(packet("10.0.2.4", 6, tcp(40000, 5432, 1, 0x02), 0x2000), reply));
  CHECK(reply.empty());
}

TEST_CASE("guest filter: in the virtual network only DNS, DHCP and ping of the gateway pass", "[net]") {
  auto f = filter();
  std::string reply;
  CHECK(f.admit(packet("10.0.2.3", 6, tcp(40000, 53, 1, 0x02)), reply));
  // DNS goes to the host's resolver: its other ports would be the host's.
  CHECK_FALSE(f.admit(packet("10.0.2.3", 6, tcp(40000, 22, 1, 0x02)), reply));
  CHECK(static_cast<uint8_t>(reply[34 + 13]) == 0x14);
  CHECK(f.admit(packet("10.0.2.2", 17, udp(68, 67)), reply));
  CHECK(f.admit(packet("10.0.2.2", 1, std::string("\x08\x00\x00\x00\x00\x01\x00\x01", 8)), reply));
  CHECK_FALSE(f.admit(packet("10.0.2.2", 6, tcp(40000, 22, 1, 0x02)), reply));
  CHECK_FALSE(f.admit(packet("10.0.2.99", 6, tcp(40000, 80, 1, 0x02)), reply));
  CHECK_FALSE(f.admit(packet("10.0.2.255", 17, udp(5000, 9)), reply));
}

TEST_CASE("guest filter: the internet, DNS and ARP pass", "[net]") {
  auto f = filter();
  std::string reply;
  CHECK(f.admit(packet("192.0.2.99", 6, tcp(40000, 443, 1, 0x02)), reply));
  CHECK(f.admit(packet("10.0.2.3", 17, udp(5000, 53)), reply));
  std::string arp = std::string(6, '\xff') + kGuestMac + std::string("\x08\x06", 2) + std::string(28, '\0');
  CHECK(f.admit(arp, reply));
  CHECK(reply.empty());
}

TEST_CASE("guest filter: a ping the egress policy refuses is answered 'administratively prohibited' at once",
          "[net]") {
  GuestFilter f({}, {}, parse_egress({"203.0.113.5"}));
  f.set_host_addresses({ip("192.0.2.10")});
  const std::string echo("\x08\x00\x00\x00\x00\x01\x00\x01", 8);
  std::string reply;
  CHECK(f.admit(packet("203.0.113.5", 1, echo), reply));
  CHECK(reply.empty());
  std::string sent = packet("198.51.100.7", 1, echo);
  CHECK_FALSE(f.admit(sent, reply));
  REQUIRE(reply.size() == 14 + 20 + 8 + 28);
  CHECK(at16(reply, 12) == 0x0800);
  CHECK(at32(reply, 26) == at32(sent, 30));  // from where the ping went, to the guest
  CHECK(at32(reply, 30) == at32(sent, 26));
  CHECK(static_cast<uint8_t>(reply[34]) == 3);   // destination unreachable
  CHECK(static_cast<uint8_t>(reply[35]) == 13);  // communication administratively prohibited
  CHECK(sum16(reply, 34, 8 + 28) == 0xffff);
  CHECK(reply.substr(42) == sent.substr(14, 28));  // its header and first 8 bytes, quoted
  // One to the host itself still gets no word (it probes nothing).
  CHECK_FALSE(f.admit(packet("192.0.2.10", 1, echo), reply));
  CHECK(reply.empty());
}

TEST_CASE("guest filter: the host's addresses are read from its interfaces", "[net]") {
  CHECK(host_ipv4_addresses().count(ip("127.0.0.1")) == 1);
  GuestFilter live({});
  std::string reply;
  for (uint32_t a : host_ipv4_addresses()) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, text, sizeof text);
    INFO(text);
    CHECK_FALSE(live.admit(packet(text, 6, tcp(40000, 22, 1, 0x02)), reply));
  }
}
