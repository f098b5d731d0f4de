#include "host/net/guest_filter.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <time.h>

#include <cstring>

#include "host/net/dns_gate.h"
#include "host/net/dns_message.h"
#include "host/net/egress_decider.h"
#include "host/net/user_net.h"

namespace banger::net {

namespace {

constexpr size_t kEth = 14;
constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1;
constexpr uint8_t kSyn = 0x02, kRst = 0x04, kAck = 0x10;
// Addresses are re-read at most this often, except for a new TCP
// connection, which always sees the current ones.
constexpr int64_t kRefreshMs = 100;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
void put16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v);
}
void put32(std::string& s, size_t at, uint32_t v) {
  put16(s, at, static_cast<uint16_t>(v >> 16));
  put16(s, at + 2, static_cast<uint16_t>(v));
}

// The Internet checksum (RFC 1071) of `len` bytes, starting from `sum`.
uint16_t checksum(const char* data, size_t len, uint32_t sum = 0) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  for (size_t i = 0; i + 1 < len; i += 2) sum += get16(p + i);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// An Ethernet + IPv4 header answering `in` (addresses swapped), with room
// for `payload` bytes after it.
std::string reply_headers(const uint8_t* in, const uint8_t* ip, uint8_t proto, size_t payload) {
  std::string out(kEth + 20 + payload, '\0');
  std::memcpy(out.data(), in + 6, 6);  // to the guest's MAC
  std::memcpy(out.data() + 6, in, 6);  // from the MAC it sent to
  put16(out, 12, 0x0800);
  out[kEth] = 0x45;
  put16(out, kEth + 2, static_cast<uint16_t>(20 + payload));
  out[kEth + 8] = 64;
  out[kEth + 9] = static_cast<char>(proto);
  std::memcpy(out.data() + kEth + 12, ip + 16, 4);  // from where it was going
  std::memcpy(out.data() + kEth + 16, ip + 12, 4);  // to the guest
  put16(out, kEth + 10, checksum(out.data() + kEth, 20));
  return out;
}

// A reset for a TCP segment: "connection refused" in the guest. RFC 9293
// 3.10.7.1: to a segment with ACK, sequence = its ack; to one without,
// sequence 0 and an ack of everything it carried.
std::string tcp_reset(const uint8_t* in, const uint8_t* ip, const uint8_t* tcp, size_t seg_len) {
  std::string out = reply_headers(in, ip, kTcp, 20);
  size_t t = kEth + 20;
  put16(out, t, get16(tcp + 2));
  put16(out, t + 2, get16(tcp));
  uint8_t flags = tcp[13];
  if (flags & kAck) {
    put32(out, t + 4, get32(tcp + 8));
    out[t + 13] = static_cast<char>(kRst);
  } else {
    uint32_t ack =
        get32(tcp + 4) + static_cast<uint32_t>(seg_len) + ((flags & kSyn) ? 1 : 0) + (flags & 0x01);
    put32(out, t + 8, ack);
    out[t + 13] = static_cast<char>(kRst | kAck);
  }
  out[t + 12] = 0x50;
  // The checksum covers a pseudo-header: addresses, protocol, length.
  uint32_t sum = 0;
  const auto* o = reinterpret_cast<const uint8_t*>(out.data());
  sum += get16(o + kEth + 12) + get16(o + kEth + 14) + get16(o + kEth + 16) + get16(o + kEth + 18);
  sum += kTcp + 20;
  put16(out, t + 16, checksum(out.data() + t, 20, sum));
  return out;
}

// ICMP destination unreachable (`code` 3: port, for a UDP datagram; 13:
// administratively prohibited, for a ping), quoting its header and 8 bytes.
std::string unreachable(const uint8_t* in, const uint8_t* ip, size_t ihl, size_t ip_len, uint8_t code) {
  size_t quoted = std::min(ip_len, ihl + 8);
  std::string out = reply_headers(in, ip, kIcmp, 8 + quoted);
  size_t c = kEth + 20;
  out[c] = 3;
  out[c + 1] = static_cast<char>(code);
  std::memcpy(out.data() + c + 8, ip, quoted);
  put16(out, c + 2, checksum(out.data() + c, 8 + quoted));
  return out;
}

// A UDP datagram answering `in` (addresses and ports swapped) with
// `payload`; no UDP checksum (optional over IPv4).
std::string udp_reply(const uint8_t* in, const uint8_t* ip, const uint8_t* udp, std::string_view payload) {
  std::string out = reply_headers(in, ip, kUdp, 8 + payload.size());
  size_t u = kEth + 20;
  put16(out, u, get16(udp + 2));
  put16(out, u + 2, get16(udp));
  put16(out, u + 4, static_cast<uint16_t>(8 + payload.size()));
  std::memcpy(out.data() + u + 8, payload.data(), payload.size());
  return out;
}

}  // namespace

std::set<uint32_t> host_ipv4_addresses() {
  std::set<uint32_t> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next)
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET)
      out.insert(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
  freeifaddrs(list);
  return out;
}

namespace {
uint32_t addr(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;
}
}  // namespace

GuestFilter::GuestFilter(std::vector<int> allowed_tcp_ports, std::vector<int> udp_forwarded,
                         EgressPolicy policy, AttemptLog log)
    : network_(addr(kUserNetwork)),
      mask_(addr(kUserNetmask)),
      gateway_(addr(kUserGateway)),
      dns_(addr(kUserDns)),
      services_(addr(kUserHostServices)),
      allowed_(allowed_tcp_ports.begin(), allowed_tcp_ports.end()),
      udp_forwarded_(udp_forwarded.begin(), udp_forwarded.end()),
      decider_(std::move(policy)),
      log_(std::move(log)) {}

void GuestFilter::set_policy(EgressPolicy policy) { decider_.set_policy(std::move(policy)); }

bool GuestFilter::filters_dns() const { return policy_filters_dns(decider_.policy()); }

bool GuestFilter::admit_dns(std::string_view msg, std::string& answer) {
  DnsDecision d = judge_query(decider_.policy(), msg);
  d.attempt.dst = ntohl(dns_);
  if (d.pinned) decider_.learn(d.attempt.name, d.pinned, kPinnedTtlS);
  if (log_ && d.logged) log_(d.attempt);
  answer = d.kind == DnsDecision::Kind::answer ? d.answer : std::string();
  return d.kind == DnsDecision::Kind::pass;
}

void GuestFilter::observe(std::string_view frame) {
  if (!filters_dns() || frame.size() < kEth + 28) return;
  const auto* in = reinterpret_cast<const uint8_t*>(frame.data());
  if (get16(in + 12) != 0x0800) return;
  const uint8_t* ip = in + kEth;
  size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  size_t ip_len = std::min<size_t>(get16(ip + 2), frame.size() - kEth);
  uint32_t src;
  std::memcpy(&src, ip + 12, 4);
  if (ip[9] != kUdp || src != dns_ || ihl < 20 || ip_len < ihl + 8 || (get16(ip + 6) & 0x3fff) != 0) return;
  const uint8_t* udp = ip + ihl;
  if (get16(udp) != 53) return;
  std::string_view msg(reinterpret_cast<const char*>(udp + 8), ip_len - ihl - 8);
  DnsLearned learned = allowed_answer(decider_.policy(), msg);
  for (const auto& addr : learned.addresses) decider_.learn(learned.name, addr.addr, addr.ttl);
}

bool GuestFilter::virtual_network_admits(uint32_t dst, uint8_t proto, bool whole_l4, uint16_t dport) const {
  if (dst == gateway_) return proto == kIcmp || (proto == kUdp && whole_l4 && dport == 67);
  if (dst == dns_) return (proto == kUdp || proto == kTcp) && whole_l4 && dport == 53;
  if (dst == services_) return proto == kTcp && whole_l4 && allowed_.count(dport) != 0;
  return false;
}

void GuestFilter::set_host_addresses(std::set<uint32_t> addrs) {
  host_ = std::move(addrs);
  fixed_ = true;
}

bool GuestFilter::is_host(uint32_t addr, bool new_connection) {
  uint8_t first = static_cast<uint8_t>(ntohl(addr) >> 24);
  if (first == 127 || first == 0) return true;
  if (!fixed_) {
    int64_t now = now_ms();
    if (new_connection || read_at_ms_ < 0 || now - read_at_ms_ >= kRefreshMs) {
      host_ = host_ipv4_addresses();
      read_at_ms_ = now;
    }
  }
  return host_.count(addr) != 0;
}

bool GuestFilter::admit(std::string_view frame, std::string& reply) {
  reply.clear();
  const auto* in = reinterpret_cast<const uint8_t*>(frame.data());
  if (frame.size() < kEth + 20 || get16(in + 12) != 0x0800) return true;  // ARP, IPv6 (off): the stack's
  const uint8_t* ip = in + kEth;
  size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  size_t ip_len = std::min<size_t>(get16(ip + 2), frame.size() - kEth);
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip_len < ihl) return false;
  uint32_t dst;
  std::memcpy(&dst, ip + 16, 4);
  uint8_t proto = ip[9];
  bool fragment = (get16(ip + 6) & 0x3fff) != 0;  // more fragments, or an offset
  const uint8_t* l4 = ip + ihl;
  size_t l4_len = ip_len - ihl;
  bool whole_tcp = proto == kTcp && !fragment && l4_len >= 20;
  // A first fragment or a whole datagram: its ports can be read.
  bool whole_l4 = !fragment && l4_len >= (proto == kTcp ? 20u : 8u);
  uint16_t dport = whole_l4 && (proto == kTcp || proto == kUdp) ? get16(l4 + 2) : 0;
  bool syn = whole_tcp && (l4[13] & kSyn) && !(l4[13] & (kAck | kRst));
  // Only what opens a flow is checked (see the header).
  if (proto == kTcp && whole_tcp && !syn) return true;
  if (proto == kUdp && whole_l4 && udp_forwarded_.count(get16(l4)) != 0) return true;

  bool refuse;
  bool by_policy = false;  // refused by the egress policy, not as the host's own
  if ((dst & mask_) == network_) {
    refuse = !virtual_network_admits(dst, proto, whole_l4, dport);
    // Under a policy the guest's DNS is answered here first (see the header).
    if (!refuse && dst == dns_ && filters_dns()) {
      if (proto != kUdp) {
        refuse = true;  // DNS over TCP is not read: refused, the resolver retries over UDP
      } else {
        std::string answer;
        std::string_view msg(reinterpret_cast<const char*>(l4 + 8), l4_len - 8);
        if (admit_dns(msg, answer)) return true;
        if (!answer.empty()) {
          reply = udp_reply(in, ip, l4, answer);
          return false;
        }
        refuse = true;
      }
    }
  } else {
    refuse = is_host(dst, syn);
    if (!refuse && decider_.policy().mode != EgressPolicy::Mode::all) {
      EgressAttempt a;
      refuse = by_policy = !decider_.admits(ntohl(dst), proto, dport, a);
      if (log_) log_(a);
    }
  }
  if (!refuse) return true;
  if (whole_tcp && !(l4[13] & kRst)) {
    size_t data_off = static_cast<size_t>(l4[12] >> 4) * 4;
    reply = tcp_reset(in, ip, l4, l4_len > data_off ? l4_len - data_off : 0);
  } else if (proto == kUdp && !fragment) {
    reply = unreachable(in, ip, ihl, ip_len, 3);
  } else if (by_policy && proto == kIcmp && !fragment && l4_len >= 8 && l4[0] == 8) {
    // A ping the policy refuses fails at once ("packet filtered"), not by
    // a timeout; one to the host itself gets no word, like its other probes.
    reply = unreachable(in, ip, ihl, ip_len, 13);
  }
  return false;
}

}  // namespace banger::net
