// Routes frames between the clients of a supervisor's control socket and the
// guest agent. Each client picks its own request ids; the router maps them
// to agent ids that are unique across clients and maps answers back. Frames
// for a client that is gone are dropped; its running commands are killed.
//
// Flow control (proto/flow.h) is end to end: a client that speaks "credit"
// grants the agent more output as it writes it out, and the router only
// remaps those Credit frames, so a slow client holds at most a window per
// stream here and never stalls the agent channel for the others. For a client
// without "credit", or one that is gone, the router grants as it queues or
// drops the data; kClientBufferCap is the safety net against a client that
// ignores flow control.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proto/flow.h"
#include "proto/messages.h"
#include "proto/wire.h"

namespace banger::vm {
class AgentChannel;
}

namespace banger::supervisor {

class Router {
 public:
  // `agent_hello` is what the agent said in its handshake: clients get its
  // capabilities and version.
  Router(vm::AgentChannel& agent, proto::Hello agent_hello);
  ~Router();

  // Local requests. info() returns JSON text; stop(now) starts a power-off
  // (now: no clean shutdown, for a VM whose disk is about to be removed).
  std::function<std::string()> on_info;
  std::function<void(bool now)> on_stop;
  // A kControl request (its JSON text) -> the result's JSON; an Error it
  // throws goes back to the client as the reply's error.
  std::function<std::string(const std::string& request)> on_control;
  // While set (the VM is paused), requests for the agent are refused at
  // once instead of waiting on a guest that cannot answer.
  std::function<bool()> is_paused;

  // Adopts a connected client socket (non-blocking from now on).
  void add_client(int fd);
  // One round of I/O: waits up to `timeout` for the agent, the clients, or
  // `listen_fd` (accepting new clients). Throws when the agent channel fails.
  void poll_once(int listen_fd, std::chrono::milliseconds timeout);
  size_t clients() const { return clients_.size(); }
  size_t routes() const { return routes_.size(); }
  // Flushes what can be flushed and disconnects everyone.
  void close_all();

 private:
  struct Client;
  struct Route {
    int fd;                        // the client's socket; -1 once it is gone
    uint32_t client_id;            // the id the client used
    proto::Type kind;              // the request that opened the route
    proto::ReceiveWindow granted;  // what the router grants when the client does not
  };

  void on_agent_frame(const proto::Frame& f);
  void on_client_frame(Client& c, const proto::Frame& f);
  void read_client(Client& c);
  void write_client(Client& c);
  void queue(Client& c, proto::Type type, uint32_t id, const std::string& payload);
  void fail_request(Client& c, uint32_t id, const std::string& kind, const std::string& message);
  void drop_client(int fd);
  void send_agent(proto::Type type, uint32_t id, const std::string& payload);
  void grant_agent(uint32_t agent_id, uint32_t bytes);
  uint32_t allocate_id();

  vm::AgentChannel& agent_;
  proto::Hello agent_hello_;
  bool agent_credit_;  // the agent waits for credit
  std::map<int, std::unique_ptr<Client>> clients_;
  std::map<uint32_t, Route> routes_;
  uint32_t next_id_ = 1;
};

}  // namespace banger::supervisor
