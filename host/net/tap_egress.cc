#include "host/net/tap_egress.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "host/core/error.h"
#include "host/net/dns_gate.h"
#include "host/net/guest_filter.h"
#include "host/net/relay.h"
#include "host/net/tap.h"

namespace banger::net {

namespace {

constexpr int64_t kPendingMs = 5000;
constexpr size_t kMaxDatagram = 4096;
// At most this many set elements are kept (the soonest to expire go
// first), however many names a guest looks up.
constexpr size_t kMaxElements = 4096;
// The nflog groups tried for a VM's verdicts: from a hash of its owner and
// name, in [kGroupBase, kGroupBase + kGroupSpan); taken ones are skipped.
constexpr int kGroupBase = 0x4000, kGroupSpan = 0x8000, kGroupTries = 64;

int first_group(const std::string& owner, const std::string& vm) {
  return kGroupBase +
         static_cast<int>(std::hash<std::string>{}(owner + ":" + vm) % (kGroupSpan - kGroupTries));
}

uint16_t get16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint32_t parse_ipv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return 0;
  return a.s_addr;
}

int udp_socket(uint32_t addr, const std::string& what) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) fail_errno(what);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    fail_errno(what);
  }
  return fd;
}

}  // namespace

TapEgress::TapEgress(Config cfg, std::string vm, long long index, AttemptLog log)
    : cfg_(std::move(cfg)),
      vm_(std::move(vm)),
      index_(index),
      log_(std::move(log)),
      verdicts_(first_group(cfg_.owner, vm_), kGroupTries, "VM " + vm_ + "'s network log") {
  ip_ = cfg_.subnet.address(index_);
  gateway_ = cfg_.subnet.gateway();
  vm_addr_ = parse_ipv4(ip_);
  for (const auto& d : cfg_.dns)
    if (uint32_t a = parse_ipv4(d)) upstream_.push_back(a);
  getrandom(&next_id_, sizeof next_id_, 0);
  try {
    relay_fd_ = udp_socket(parse_ipv4(gateway_), "binding VM " + vm_ + "'s DNS relay on " + gateway_);
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    getsockname(relay_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    upstream_fd_ = udp_socket(INADDR_ANY, "opening VM " + vm_ + "'s socket to the resolvers");
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) fail_errno("eventfd");
    hook_fd_ = tcp_listen(gateway_, 0);
    sockaddr_in ha{};
    socklen_t hlen = sizeof ha;
    getsockname(hook_fd_, reinterpret_cast<sockaddr*>(&ha), &hlen);
    hook_port_ = ntohs(ha.sin_port);
    fcntl(hook_fd_, F_SETFL, fcntl(hook_fd_, F_GETFL) | O_NONBLOCK);
    dns_tcp_fd_ = tcp_listen(gateway_, 0);
    getsockname(dns_tcp_fd_, reinterpret_cast<sockaddr*>(&ha), &hlen);
    dns_tcp_port_ = ntohs(ha.sin_port);
    fcntl(dns_tcp_fd_, F_SETFL, fcntl(dns_tcp_fd_, F_GETFL) | O_NONBLOCK);
  } catch (...) {
    for (int fd : {relay_fd_, upstream_fd_, wake_fd_, hook_fd_, dns_tcp_fd_})
      if (fd >= 0) close(fd);
    throw;
  }
  thread_ = std::thread([this] { run(); });
}

TapEgress::~TapEgress() {
  stop_ = true;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  // The connections passed on see wake_fd_ readable and end.
  while (hooked_ > 0 || dns_streams_ > 0) usleep(10 * 1000);
  for (int fd : {relay_fd_, upstream_fd_, wake_fd_, hook_fd_, dns_tcp_fd_})
    if (fd >= 0) close(fd);
}

void TapEgress::set_policy(EgressPolicy p) {
  std::lock_guard<std::mutex> lock(mu_);
  bool relay = policy_filters_dns(p);
  if (relay || redirected_)
    set_egress(cfg_, vm_, index_, p,
               relay ? DnsRelay{gateway_, port_, verdicts_.group(), hook_port_, dns_tcp_port_} : DnsRelay{});
  redirected_ = relay;
  decider_.set_policy(std::move(p));
  // The sets were made anew: what answers taught goes back in, as far as
  // the new policy's name rules allow it.
  elements_.clear();
  if (!relay) return;
  int64_t now = now_ms();
  std::vector<NameElement> add;
  for (const auto& [addr, l] : decider_.learned()) {
    if (l.expires_ms <= now) continue;
    for (const EgressRule* r : decider_.policy().name_rules_for(l.name)) {
      NameElement e{addr, r->port, r->udp};
      auto [it, fresh] = elements_.emplace(e, l.expires_ms);
      if (fresh) add.push_back(e);
      else it->second = std::max(it->second, l.expires_ms);
    }
  }
  add_elements(std::move(add), {});
}

void TapEgress::run() {
  int64_t last_expire = now_ms();
  while (!stop_) {
    pollfd p[6] = {{relay_fd_, POLLIN, 0}, {upstream_fd_, POLLIN, 0}, {verdicts_.fd(), POLLIN, 0},
                   {hook_fd_, POLLIN, 0},  {dns_tcp_fd_, POLLIN, 0},  {wake_fd_, POLLIN, 0}};
    int n = poll(p, 6, 1000);
    if (stop_) break;
    try {
      if (n > 0 && (p[0].revents & POLLIN)) on_query();
      if (n > 0 && (p[1].revents & POLLIN)) on_response();
      if (n > 0 && (p[2].revents & POLLIN)) on_logged();
      if (n > 0 && (p[3].revents & POLLIN)) on_hooked();
      if (n > 0 && (p[4].revents & POLLIN)) on_dns_stream();
      int64_t now = now_ms();
      if (now - last_expire >= 1000) {
        expire(now);
        last_expire = now;
      }
    } catch (const Error& e) {
      // The guest's DNS must not end the VM: the next query tries again.
      spdlog::error("VM '{}': egress relay: {}", vm_, e.message());
    }
  }
}

DnsDecision TapEgress::judge(std::string_view msg) {
  DnsDecision d = judge_query(decider_.policy(), msg);
  d.attempt.dst = ntohl(parse_ipv4(gateway_));
  if (d.pinned) learn(d.attempt.name, d.pinned, kPinnedTtlS);
  if (d.kind == DnsDecision::Kind::pass) {
    int64_t now = now_ms();
    if (now - window_ms_ >= 1000) {
      window_ms_ = now;
      window_queries_ = 0;
    }
    const char* why = upstream_.empty()                       ? "no resolver on the host"
                      : pending_.size() >= kMaxPending        ? "too many queries in flight"
                      : ++window_queries_ > kQueriesPerSecond ? "too many queries a second"
                                                              : nullptr;
    if (why) {
      d.attempt.allowed = false;
      d.attempt.why = why;
      d.kind = DnsDecision::Kind::refuse;
    }
  }
  if (log_ && d.logged) log_(d.attempt);
  return d;
}

void TapEgress::on_query() {
  char buf[kMaxDatagram];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n = recvfrom(relay_fd_, buf, sizeof buf, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0 || static_cast<size_t>(n) > sizeof buf || from.sin_addr.s_addr != vm_addr_) return;
  std::string_view msg(buf, static_cast<size_t>(n));
  std::lock_guard<std::mutex> lock(mu_);
  DnsDecision d = judge(msg);
  if (d.kind == DnsDecision::Kind::answer) {
    sendto(relay_fd_, d.answer.data(), d.answer.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  } else if (d.kind == DnsDecision::Kind::pass) {
    uint16_t id = next_id_++;
    while (pending_.count(id)) id = next_id_++;
    pending_[id] = {from.sin_port, static_cast<uint16_t>((uint8_t)buf[0] << 8 | (uint8_t)buf[1]),
                    now_ms() + kPendingMs};
    std::string out(msg);
    out[0] = static_cast<char>(id >> 8);
    out[1] = static_cast<char>(id);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(53);
    to.sin_addr.s_addr = upstream_[0];
    sendto(upstream_fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
}

void TapEgress::learn_answer(std::string_view msg) {
  DnsLearned learned = allowed_answer(decider_.policy(), msg);
  for (const auto& a : learned.addresses) learn(learned.name, a.addr, a.ttl);
}

void TapEgress::on_response() {
  char buf[kMaxDatagram];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n = recvfrom(upstream_fd_, buf, sizeof buf, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 12 || static_cast<size_t>(n) > sizeof buf || from.sin_port != htons(53) ||
      from.sin_addr.s_addr != upstream_[0])
    return;
  std::lock_guard<std::mutex> lock(mu_);
  uint16_t id = static_cast<uint16_t>((uint8_t)buf[0] << 8 | (uint8_t)buf[1]);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending q = it->second;
  pending_.erase(it);
  std::string msg(buf, static_cast<size_t>(n));
  learn_answer(msg);
  msg[0] = static_cast<char>(q.id >> 8);
  msg[1] = static_cast<char>(q.id);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = static_cast<in_port_t>(q.guest_port);
  to.sin_addr.s_addr = vm_addr_;
  sendto(relay_fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
}

void TapEgress::learn(const std::string& name, uint32_t addr, uint32_t ttl_s) {
  decider_.learn(name, addr, ttl_s);
  int64_t expires = now_ms() + static_cast<int64_t>(clamp_ttl(ttl_s)) * 1000;
  std::vector<NameElement> add, gone;
  for (const EgressRule* r : decider_.policy().name_rules_for(name)) {
    NameElement e{addr, r->port, r->udp};
    if (!elements_.count(e) && elements_.size() >= kMaxElements) {
      auto old = elements_.begin();
      for (auto it = elements_.begin(); it != elements_.end(); ++it)
        if (it->second < old->second) old = it;
      gone.push_back(old->first);
      elements_.erase(old);
    }
    auto [it, fresh] = elements_.emplace(e, expires);
    if (fresh) add.push_back(e);
    else it->second = std::max(it->second, expires);
  }
  add_elements(std::move(add), std::move(gone));
}

void TapEgress::add_elements(std::vector<NameElement> add, std::vector<NameElement> gone) {
  // One made and evicted in the same call never reaches the kernel.
  for (auto g = gone.begin(); g != gone.end();) {
    auto a =
        std::find_if(add.begin(), add.end(), [&](const NameElement& e) { return !(e < *g) && !(*g < e); });
    if (a == add.end()) {
      ++g;
      continue;
    }
    add.erase(a);
    g = gone.erase(g);
  }
  if (!add.empty() || !gone.empty()) change_name_elements(cfg_, vm_, add, gone);
}

void TapEgress::expire(int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = pending_.begin(); it != pending_.end();)
    it = it->second.deadline_ms <= now ? pending_.erase(it) : std::next(it);
  std::vector<NameElement> gone;
  for (auto it = elements_.begin(); it != elements_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    gone.push_back(it->first);
    it = elements_.erase(it);
  }
  add_elements({}, std::move(gone));
}

void TapEgress::on_logged() {
  for (const auto& pkt : verdicts_.read()) {
    const auto* ip = reinterpret_cast<const unsigned char*>(pkt.payload.data());
    size_t len = pkt.payload.size();
    size_t ihl = len >= 20 ? static_cast<size_t>(ip[0] & 0x0f) * 4 : 0;
    if (ihl < 20 || len < ihl || (ip[0] >> 4) != 4) continue;
    uint8_t proto = ip[9];
    uint32_t dst = static_cast<uint32_t>(ip[16]) << 24 | ip[17] << 16 | ip[18] << 8 | ip[19];
    int port = 0;
    if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && (get16(ip + 6) & 0x1fff) == 0 && len >= ihl + 4)
      port = get16(ip + ihl + 2);
    bool allowed = pkt.prefix == kLogAllowed;
    if (!allowed && pkt.prefix != kLogRefused) continue;
    EgressAttempt a;
    {
      // The kernel decided; the same policy and answers say why.
      std::lock_guard<std::mutex> lock(mu_);
      if (decider_.admits(dst, proto, port, a) != allowed) {
        a.allowed = allowed;
        a.why = allowed ? "allowed by the VM's rules" : "refused by the VM's rules";
      }
    }
    if (log_) log_(a);
  }
}

namespace {

// Closes `fd` with a reset: the guest sees its connection refused.
void reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

std::string dotted(uint32_t addr_be) {
  char text[INET_ADDRSTRLEN];
  in_addr a{addr_be};
  inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}

}  // namespace

void TapEgress::on_hooked() {
  for (int i = 0; i < 16; ++i) {
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    int c = accept4(hook_fd_, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC);
    if (c < 0) return;
    sockaddr_in dst{};
    socklen_t dlen = sizeof dst;
    // Where the guest was going, before the VM's rule sent it here.
    if (peer.sin_addr.s_addr != vm_addr_ ||
        getsockopt(c, SOL_IP, SO_ORIGINAL_DST, reinterpret_cast<sockaddr*>(&dst), &dlen) != 0) {
      reset(c);
      continue;
    }
    EgressAttempt a;
    bool allowed;
    uint32_t to = ntohl(dst.sin_addr.s_addr);
    if ((to >> 24) == 127 || (to >> 24) == 0 || host_ipv4_addresses().count(dst.sin_addr.s_addr)) {
      // The host itself: its services are closed to guests (the input
      // chain), and the relay, which connects from the host, must not open them.
      a.proto = "tcp";
      a.dst = to;
      a.port = ntohs(dst.sin_port);
      a.why = "the host's own address";
      allowed = false;
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      allowed = decider_.admits(to, IPPROTO_TCP, ntohs(dst.sin_port), a);
    }
    if (allowed && hooked_ >= kMaxHooked) {
      allowed = a.allowed = false;
      a.why = "too many connections through the hook at once";
    }
    if (log_) log_(a);
    if (!allowed) {
      reset(c);
      continue;
    }
    ++hooked_;
    std::string host = dotted(dst.sin_addr.s_addr);
    int port = ntohs(dst.sin_port);
    int stop = wake_fd_;
    std::thread([this, c, host, port, stop] {
      try {
        int up = tcp_connect(host, port, std::chrono::seconds(10));
        relay(c, up, stop);
        close(up);
        close(c);
      } catch (const Error&) {
        reset(c);  // it cannot be reached: refused, as a direct connection would be
      }
      --hooked_;
    }).detach();
  }
}

namespace {

// Reads exactly `len` bytes within `ms`; false on EOF, an error or the time.
bool read_within(int fd, char* buf, size_t len, int ms) {
  size_t got = 0;
  while (got < len) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return false;
    ssize_t n = read(fd, buf + got, len - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// One DNS-over-TCP message (RFC 7766: a 2-byte length, then the message).
bool read_message(int fd, std::string& msg, int ms) {
  unsigned char len[2];
  if (!read_within(fd, reinterpret_cast<char*>(len), 2, ms)) return false;
  msg.resize(static_cast<size_t>(len[0] << 8 | len[1]));
  return !msg.empty() && read_within(fd, msg.data(), msg.size(), ms);
}

bool write_message(int fd, std::string_view msg) {
  std::string out;
  out += static_cast<char>(msg.size() >> 8);
  out += static_cast<char>(msg.size());
  out += msg;
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = write(fd, out.data() + done, out.size() - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

constexpr int kStreamMs = 5000;
constexpr int kQueriesPerStream = 16;

}  // namespace

void TapEgress::on_dns_stream() {
  for (int i = 0; i < 16; ++i) {
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    int c = accept4(dns_tcp_fd_, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC);
    if (c < 0) return;
    if (peer.sin_addr.s_addr != vm_addr_ || dns_streams_ >= kMaxDnsStreams) {
      reset(c);
      continue;
    }
    ++dns_streams_;
    // A stream may take seconds (the guest's, the resolver's): not on the relay's thread.
    std::thread([this, c] {
      serve_dns_stream(c);
      close(c);
      --dns_streams_;
    }).detach();
  }
}

void TapEgress::serve_dns_stream(int c) {
  for (int q = 0; q < kQueriesPerStream && !stop_; ++q) {
    std::string msg;
    if (!read_message(c, msg, kStreamMs)) return;
    DnsDecision d;
    {
      std::lock_guard<std::mutex> lock(mu_);
      d = judge(msg);
    }
    if (d.kind == DnsDecision::Kind::refuse) return;
    if (d.kind == DnsDecision::Kind::answer) {
      if (!write_message(c, d.answer)) return;
      continue;
    }
    std::string answer;
    try {
      int up = tcp_connect(dotted(upstream_[0]), 53, std::chrono::milliseconds(kStreamMs));
      bool ok = write_message(up, msg) && read_message(up, answer, kStreamMs);
      close(up);
      if (!ok) return;
    } catch (const Error&) {
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      learn_answer(answer);
    }
    if (!write_message(c, answer)) return;
  }
}

}  // namespace banger::net
