#include "host/net/port_proxy.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <thread>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/net/relay.h"

namespace banger::net {

namespace {

// How long a new connection waits for the guest to accept before the host
// side is closed (the guest service may not be up yet).
constexpr std::chrono::seconds kConnectTimeout{5};

}  // namespace

struct PortProxy::State {
  std::vector<TcpForward> forwards;
  std::vector<int> listeners;
  int stop_fd = -1;  // an eventfd: once written, every poll on it wakes
  std::thread acceptor;
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Connection> connections;

  void serve() {
    std::vector<pollfd> p;
    for (int fd : listeners) p.push_back({fd, POLLIN, 0});
    p.push_back({stop_fd, POLLIN, 0});
    while (true) {
      if (::poll(p.data(), p.size(), -1) < 0 && errno != EINTR) return;
      if (p.back().revents) return;
      reap();
      for (size_t i = 0; i < listeners.size(); ++i)
        if (p[i].revents & POLLIN) accept_one(i);
    }
  }

  void accept_one(size_t i) {
    int client = ::accept4(listeners[i], nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    auto& c = connections.emplace_back();
    TcpForward f = forwards[i];
    int stop = stop_fd;
    c.thread = std::thread([client, f, stop, &done = c.done] {
      try {
        int guest = tcp_connect(f.target_addr, f.target_port, kConnectTimeout);
        relay(client, guest, stop);
        ::close(guest);
      } catch (const Error& e) {
        spdlog::debug("port {}: {}", f.listen_port, e.message());
      }
      ::close(client);
      done = true;
    });
  }

  // Joins the threads of finished connections.
  void reap() {
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  ~State() {
    if (stop_fd >= 0) {
      uint64_t one = 1;
      (void)!::write(stop_fd, &one, sizeof one);
    }
    if (acceptor.joinable()) acceptor.join();
    for (auto& c : connections) c.thread.join();
    for (int fd : listeners) ::close(fd);
    if (stop_fd >= 0) ::close(stop_fd);
  }
};

PortProxy::PortProxy(const std::vector<TcpForward>& forwards) : state_(std::make_unique<State>()) {
  state_->forwards = forwards;
  for (const auto& f : forwards) state_->listeners.push_back(tcp_listen(f.listen_addr, f.listen_port));
  state_->stop_fd = ::eventfd(0, EFD_CLOEXEC);
  if (state_->stop_fd < 0) fail_errno("eventfd");
  state_->acceptor = std::thread([s = state_.get()] { s->serve(); });
}

PortProxy::~PortProxy() = default;

}  // namespace banger::net
