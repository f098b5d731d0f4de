// A tap VM's egress policy while it runs, when the policy has a say in DNS
// (dns_gate.h): banger's DNS relay for the VM, on the bridge's gateway
// address at a port of its own (the VM's DNS, to whichever server, is
// redirected there: firewall.h), and the addresses its name rules were
// answered with, kept in the VM's nftables sets for the answers' TTLs.
//
// The relay answers pins and refusals itself and passes allowed queries to
// the host's resolvers; an answer's addresses are in the sets before the
// guest sees it, so its first connection already passes. The VM's rules log
// each new flow's verdict to an nflog group of the relay's, which writes it
// to the network log with the rule (or name) that decided, as user mode does.
// With a hook, a new TCP connection no rule admits is redirected to the
// relay's own listener instead, where the hook decides: allowed, the relay
// connects to where it was going and passes the bytes both ways (at most
// kMaxHooked at once); refused, it is reset. UDP flows no rule admits are
// refused in tap mode, hook or not: the kernel here has no nftables queue
// to hold a datagram for the hook. Everything it
// reads comes from the guest or a resolver: every datagram is bounded
// (dns_message.h), only the VM's own address is served, only a resolver's
// answer to a query in flight is taken, and at most kMaxPending are; at
// most kQueriesPerSecond go to the resolvers (each answer may cost an nft
// run), the rest are refused.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "host/net/config.h"
#include "host/net/dns_gate.h"
#include "host/net/egress.h"
#include "host/net/egress_decider.h"
#include "host/net/firewall.h"
#include "host/net/nflog.h"

namespace banger::net {

class TapEgress {
 public:
  static constexpr size_t kMaxPending = 256;
  static constexpr int kQueriesPerSecond = 100;
  static constexpr int kMaxHooked = 128;
  static constexpr int kMaxDnsStreams = 16;  // DNS over TCP connections at once
  using AttemptLog = std::function<void(const EgressAttempt&)>;
  // VM `vm` at address index `index` (its tap set up). The relay's socket is
  // bound now; nothing is redirected to it before set_policy.
  TapEgress(Config cfg, std::string vm, long long index, AttemptLog log);
  ~TapEgress();
  TapEgress(const TapEgress&) = delete;
  TapEgress& operator=(const TapEgress&) = delete;

  // Applies `p`: the VM's rules and redirect, and what answers taught that
  // `p` still allows, for connections from now on.
  void set_policy(EgressPolicy p);
  int port() const { return port_; }

 private:
  struct Pending {
    uint32_t guest_port;  // network byte order
    uint16_t id;          // the guest's query id
    int64_t deadline_ms;
  };
  void run();
  void on_query();
  void on_response();
  void on_logged();
  void on_hooked();
  void on_dns_stream();
  void serve_dns_stream(int fd);
  // The verdict on a query (logged, a pin learned); under mu_.
  DnsDecision judge(std::string_view msg);
  // What a resolver's answer teaches; under mu_.
  void learn_answer(std::string_view msg);
  void learn(const std::string& name, uint32_t addr, uint32_t ttl_s);
  void expire(int64_t now);
  void add_elements(std::vector<NameElement> add, std::vector<NameElement> gone);

  Config cfg_;
  std::string vm_, ip_, gateway_;
  long long index_;
  AttemptLog log_;
  uint32_t vm_addr_ = 0;            // network byte order
  std::vector<uint32_t> upstream_;  // the resolvers (network byte order)
  int relay_fd_ = -1, upstream_fd_ = -1, wake_fd_ = -1;
  int port_ = 0;
  NflogGroup verdicts_;    // the VM's rules log each new flow here
  std::mutex mu_;          // what follows, and the sets
  EgressDecider decider_;  // the policy, and what answers taught (for the log's "why", and the sets)
  bool redirected_ = false;
  std::map<NameElement, int64_t> elements_;  // in the sets -> expiry (ms)
  std::map<uint16_t, Pending> pending_;      // by the id sent upstream
  uint16_t next_id_ = 0;
  int64_t window_ms_ = 0;  // the second the count below is for
  int window_queries_ = 0;
  int hook_fd_ = -1, hook_port_ = 0;
  int dns_tcp_fd_ = -1, dns_tcp_port_ = 0;
  std::atomic<int> dns_streams_{0};  // DNS over TCP connections served now
  std::atomic<int> hooked_{0};       // connections passed on through the hook, open now
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace banger::net
