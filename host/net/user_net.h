// User networking without privileges, served by libslirp on a thread of the
// process that owns the VM (its supervisor). QEMU joins through a socketpair
// (`-netdev socket,fd=N`: frames with a 4-byte big-endian length).
//
// Unlike QEMU's built-in user netdev, the guest cannot reach the host's
// loopback: libslirp's disable_host_loopback refuses any connection that
// would land on 127.0.0.1 (the gateway alias included). Host ports a recipe
// allows are reached at kHostServices:PORT, each connection relayed to
// 127.0.0.1:PORT by a `banger __connect` process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "host/net/egress.h"

namespace banger::net {

// The fixed plan of the guest network (QEMU's, so guides for it apply).
inline constexpr const char* kUserNetwork = "10.0.2.0";
inline constexpr const char* kUserNetmask = "255.255.255.0";
inline constexpr const char* kUserGuest = "10.0.2.15";
inline constexpr const char* kUserGateway = "10.0.2.2";
inline constexpr const char* kUserDns = "10.0.2.3";
inline constexpr const char* kUserHostServices = "10.0.2.4";

struct UserForward {
  bool udp = false;
  std::string host_addr = "127.0.0.1";
  int host_port = 0;
  int guest_port = 0;
};

struct UserNetConfig {
  std::vector<UserForward> forwards;  // host -> guest
  std::vector<int> host_ports;        // guest -> 127.0.0.1:PORT (TCP), allowed
  // The banger binary that serves `__connect HOST PORT` for host_ports;
  // empty: this process's own executable.
  std::string connector;
  EgressPolicy egress;  // beyond the virtual network (egress.h); default "all"
  std::string net_log;  // where the policy's decisions are written (net_log.h); empty: nowhere
};

class UserNet {
 public:
  // Sets up the stack and binds every forward (a taken port is a conflict
  // error naming it; nothing stays bound).
  explicit UserNet(const UserNetConfig& cfg);
  ~UserNet();  // stops the thread, closes every socket of the stack
  UserNet(const UserNet&) = delete;
  UserNet& operator=(const UserNet&) = delete;

  // The socket QEMU inherits (not close-on-exec): `-netdev socket,fd=N`.
  int qemu_fd() const;
  // After QEMU is spawned: closes our copy of its end and starts serving.
  void start();
  // A new egress policy, for connections from now on (any thread).
  void set_egress(EgressPolicy policy);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace banger::net
