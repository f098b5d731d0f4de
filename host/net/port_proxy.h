// Host port forwards for a VM whose address the host can reach (tap mode):
// listens on the host side and relays each connection to the guest. User
// networking forwards inside its own stack instead (user_net.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace banger::net {

struct TcpForward {
  std::string listen_addr = "127.0.0.1";
  int listen_port = 0;
  std::string target_addr;  // the guest's address
  int target_port = 0;
};

class PortProxy {
 public:
  // Binds every listener first (throws a conflict error naming a taken
  // port, with nothing left listening), then serves them on a thread.
  explicit PortProxy(const std::vector<TcpForward>& forwards);
  // Closes the listeners and ends the open connections.
  ~PortProxy();
  PortProxy(const PortProxy&) = delete;
  PortProxy& operator=(const PortProxy&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace banger::net
