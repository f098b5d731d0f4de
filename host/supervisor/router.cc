#include "host/supervisor/router.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/supervisor/control.h"
#include "host/vm/agent_channel.h"

namespace banger::supervisor {

using proto::Type;

struct Router::Client {
  int fd;
  proto::Decoder decoder;
  std::string out;
  size_t out_pos = 0;
  bool hello = false;
  bool credit = false;               // it grants credit for its streams
  bool closing = false;              // drop once `out` is flushed
  std::map<uint32_t, uint32_t> ids;  // client id -> agent id
  size_t pending() const { return out.size() - out_pos; }
};

namespace {

// Requests that open a stream (the client picks a new id for each).
bool opens_route(Type t) {
  return t == Type::exec || t == Type::file_put || t == Type::file_get || t == Type::ports_request ||
         t == Type::stats_request;
}

// Frames a client sends on a stream it opened earlier.
bool continues_route(Type t) {
  return t == Type::stdin_data || t == Type::stdin_eof || t == Type::signal || t == Type::window_size ||
         t == Type::file_data || t == Type::file_end || t == Type::credit;
}

// Agent frames whose payload counts against a stream's window.
bool carries_data(Type t) { return t == Type::stdout_data || t == Type::stderr_data || t == Type::file_data; }

// The agent's last frame of a stream.
bool ends_route(Type t) {
  return t == Type::exit || t == Type::error || t == Type::file_end || t == Type::ports || t == Type::stats;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

Router::Router(vm::AgentChannel& agent, proto::Hello agent_hello)
    : agent_(agent),
      agent_hello_(std::move(agent_hello)),
      agent_credit_(agent_hello_.has(proto::kCapCredit)) {}

Router::~Router() {
  for (auto& [fd, c] : clients_) ::close(fd);
}

void Router::add_client(int fd) {
  set_nonblocking(fd);
  auto c = std::make_unique<Client>();
  c->fd = fd;
  clients_[fd] = std::move(c);
}

void Router::send_agent(Type type, uint32_t id, const std::string& payload) {
  agent_.send(type, id, payload, vm::Clock::now() + std::chrono::seconds(10));
}

void Router::grant_agent(uint32_t agent_id, uint32_t bytes) {
  send_agent(Type::credit, agent_id, proto::Credit{bytes}.encode());
}

uint32_t Router::allocate_id() {
  for (;;) {
    uint32_t id = next_id_++;
    if (next_id_ == 0) next_id_ = 1;
    if (id != 0 && !routes_.count(id)) return id;
  }
}

void Router::queue(Client& c, Type type, uint32_t id, const std::string& payload) {
  if (c.fd < 0) return;
  c.out += proto::encode_frame(type, id, payload);
  if (c.pending() > kClientBufferCap) {
    spdlog::warn("supervisor: client {} ignores flow control ({} bytes unread); disconnecting it", c.fd,
                 c.pending());
    c.closing = true;
    c.out.clear();
    c.out_pos = 0;
  }
}

void Router::fail_request(Client& c, uint32_t id, const std::string& kind, const std::string& message) {
  queue(c, Type::error, id, proto::Failure{kind, message}.encode());
}

void Router::on_agent_frame(const proto::Frame& f) {
  if (f.id == 0) {
    if (f.type == Type::error)
      spdlog::warn("supervisor: agent: {}", proto::Failure::decode(f.payload).message);
    return;
  }
  auto it = routes_.find(f.id);
  if (it == routes_.end()) return;  // a stream we already closed
  auto ci = it->second.fd < 0 ? clients_.end() : clients_.find(it->second.fd);
  Client* c = ci == clients_.end() ? nullptr : ci->second.get();
  bool client_grants = c && c->credit && !c->closing;
  if (agent_credit_ && !client_grants) {
    // Nobody downstream grants: the router does, as it queues or drops.
    if (f.type == Type::credit) return;  // stdin credit for a client that does not wait for it
    if (carries_data(f.type))
      if (uint32_t g = it->second.granted.consumed(f.payload.size())) grant_agent(f.id, g);
  }
  Route r = it->second;
  bool last = ends_route(f.type);
  if (last) routes_.erase(it);
  if (!c) return;
  if (last) c->ids.erase(r.client_id);
  queue(*c, f.type, r.client_id, f.payload);
}

void Router::on_client_frame(Client& c, const proto::Frame& f) {
  if (!c.hello) {
    if (f.type != Type::hello) {
      fail_request(c, 0, "protocol", "send hello first");
      c.closing = true;
      return;
    }
    proto::Hello theirs = proto::Hello::decode(f.payload);
    c.credit = theirs.has(proto::kCapCredit);
    try {
      proto::negotiate(agent_hello_, theirs);
    } catch (const proto::ProtocolError& e) {
      fail_request(c, 0, "protocol", e.what());
      c.closing = true;
      return;
    }
    proto::Hello mine = agent_hello_;
    mine.software = "banger-supervisor (" + agent_hello_.software + ")";
    queue(c, Type::hello, 0, mine.encode());
    c.hello = true;
    return;
  }
  if (f.type == Type::ping) {
    queue(c, Type::pong, f.id, f.payload);
    return;
  }
  if (f.type == kInfoRequest) {
    queue(c, kInfo, f.id, on_info ? on_info() : "{}");
    return;
  }
  if (f.type == kStop) {
    if (on_stop) on_stop(f.payload == "now");
    return;
  }
  if (f.type == kControl) {
    nlohmann::json reply;
    try {
      if (!on_control) fail(ErrorKind::unsupported, "this supervisor does not control its VMM");
      reply["result"] = nlohmann::json::parse(on_control(f.payload));
    } catch (const Error& e) {
      reply["error"] = {{"kind", kind_name(e.kind())}, {"message", e.message()}, {"hint", e.hint()}};
    }
    queue(c, kControlReply, f.id, reply.dump());
    return;
  }
  if (f.id == 0) {
    fail_request(c, 0, "protocol", std::string("unexpected ") + proto::type_name(f.type) + " with id 0");
    return;
  }
  if (opens_route(f.type)) {
    if (is_paused && is_paused()) {
      fail_request(c, f.id, "conflict", "the VM is paused: resume it first (banger vm resume)");
      return;
    }
    if (c.ids.count(f.id)) {
      fail_request(c, f.id, "invalid_input", "request id " + std::to_string(f.id) + " is already in use");
      return;
    }
    uint32_t aid = allocate_id();
    c.ids[f.id] = aid;
    routes_[aid] = Route{c.fd, f.id, f.type, {}};
    send_agent(f.type, aid, f.payload);
    return;
  }
  if (continues_route(f.type)) {
    auto it = c.ids.find(f.id);
    if (it == c.ids.end()) return;  // the stream ended already (e.g. stdin after exit)
    send_agent(f.type, it->second, f.payload);
    return;
  }
  fail_request(c, f.id, "unsupported", std::string("unexpected ") + proto::type_name(f.type));
}

void Router::read_client(Client& c) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n > 0) {
      try {
        c.decoder.feed(buf, n);
        while (auto f = c.decoder.next()) {
          on_client_frame(c, *f);
          if (c.closing) return;
        }
      } catch (const proto::ProtocolError& e) {
        spdlog::warn("supervisor: client {}: {}", c.fd, e.what());
        c.closing = true;
        c.out.clear();
        c.out_pos = 0;
        return;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    c.closing = true;  // EOF or error
    c.out.clear();
    c.out_pos = 0;
    return;
  }
}

void Router::write_client(Client& c) {
  while (c.pending() > 0) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.pending(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out_pos += n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    c.closing = true;
    c.out.clear();
    c.out_pos = 0;
    return;
  }
  if (c.out_pos == c.out.size()) {
    c.out.clear();
    c.out_pos = 0;
  } else if (c.out_pos > (1u << 20)) {
    c.out.erase(0, c.out_pos);
    c.out_pos = 0;
  }
}

void Router::drop_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  // Commands of a client that went away are killed: nobody reads them. Up to
  // a window of their output was left ungranted in its buffer: grant that,
  // so the agent drains them to their Exit (the router grants as it drops
  // from now on).
  bool released = agent_credit_ && it->second->credit;
  for (auto& [aid, r] : routes_) {
    if (r.fd != fd) continue;
    r.fd = -1;
    try {
      if (r.kind == Type::exec) send_agent(Type::signal, aid, proto::Signal{SIGKILL}.encode());
      if (released) grant_agent(aid, proto::kStreamWindow);
    } catch (const Error& e) {
      spdlog::warn("supervisor: {}", e.message());
    }
  }
  ::close(fd);
  clients_.erase(it);
}

void Router::poll_once(int listen_fd, std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  fds.push_back({agent_.fd(), POLLIN, 0});
  if (listen_fd >= 0) fds.push_back({listen_fd, POLLIN, 0});
  for (auto& [fd, c] : clients_) {
    short ev = c->closing ? 0 : POLLIN;
    if (c->pending() > 0) ev |= POLLOUT;
    fds.push_back({fd, ev, 0});
  }
  int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  if (n < 0 && errno != EINTR) fail_errno("supervisor poll");

  // The agent first: answers go out in the same round.
  if (fds[0].revents) {
    while (auto f = agent_.receive(std::chrono::milliseconds(0))) on_agent_frame(*f);
  }
  size_t i = 1;
  if (listen_fd >= 0) {
    if (fds[i].revents & POLLIN) {
      int cfd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (cfd >= 0) add_client(cfd);
    }
    i++;
  }
  std::vector<int> gone;
  for (; i < fds.size(); i++) {
    auto it = clients_.find(fds[i].fd);
    if (it == clients_.end()) continue;
    Client& c = *it->second;
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_client(c);
    if (c.pending() > 0) write_client(c);
    if (c.closing && c.pending() == 0) gone.push_back(c.fd);
  }
  for (int fd : gone) drop_client(fd);
}

void Router::close_all() {
  for (auto& [fd, c] : clients_) write_client(*c);
  std::vector<int> fds;
  for (auto& [fd, c] : clients_) fds.push_back(fd);
  for (int fd : fds) drop_client(fd);
}

}  // namespace banger::supervisor
