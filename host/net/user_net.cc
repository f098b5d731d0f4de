#include "host/net/user_net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include <slirp/libslirp.h>
#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/net/guest_filter.h"
#include "host/net/net_log.h"

namespace banger::net {

namespace {

// Frames QEMU has not taken yet; past this, new frames are dropped (TCP in
// the guest retransmits) rather than buffered without bound.
constexpr size_t kMaxPending = 4 << 20;
// The largest frame either side may send (an Ethernet frame, with room).
constexpr uint32_t kMaxFrame = 65536;

in_addr addr(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a;
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Single-quotes `s` for the shell-style command line libslirp splits.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) fail_errno("reading /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

struct Timer {
  SlirpTimerCb cb;
  void* opaque;
  int64_t expire_ms = -1;  // -1: not armed
};

}  // namespace

struct UserNet::State {
  Slirp* slirp = nullptr;
  int ours = -1, theirs = -1;  // the socketpair: our end, QEMU's end
  int stop_fd = -1;
  std::thread thread;
  std::list<Timer> timers;
  std::vector<pollfd> fds;
  std::string in, out;                  // bytes from QEMU not parsed yet; frames not sent yet
  std::unique_ptr<GuestFilter> filter;  // what the guest may reach (guest_filter.h)
  std::unique_ptr<NetLog> net_log;
  std::mutex egress_mu;  // guards pending_egress, set from any thread
  std::optional<EgressPolicy> pending_egress;

  // Queues a frame for QEMU (dropped past kMaxPending).
  void queue(const void* buf, size_t len) {
    if (out.size() > kMaxPending) return;
    uint32_t be = htonl(static_cast<uint32_t>(len));
    out.append(reinterpret_cast<const char*>(&be), 4);
    out.append(static_cast<const char*>(buf), len);
    flush();
  }

  // libslirp callbacks (opaque is the State).
  static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    auto* s = static_cast<State*>(opaque);
    s->filter->observe(std::string_view(static_cast<const char*>(buf), len));
    s->queue(buf, len);
    return static_cast<ssize_t>(len);
  }
  static void guest_error(const char* msg, void*) { spdlog::debug("user network: guest error: {}", msg); }
  static int64_t clock_get_ns(void*) { return now_ns(); }
  static void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
    auto* s = static_cast<State*>(opaque);
    return &s->timers.emplace_back(Timer{cb, cb_opaque});
  }
  static void timer_free(void* timer, void* opaque) {
    auto* s = static_cast<State*>(opaque);
    s->timers.remove_if([timer](const Timer& t) { return &t == timer; });
  }
  static void timer_mod(void* timer, int64_t expire_ms, void*) {
    static_cast<Timer*>(timer)->expire_ms = expire_ms;
  }
  static void register_poll_fd(int, void*) {}
  static void unregister_poll_fd(int, void*) {}
  static void notify(void*) {}

  static int add_poll(int fd, int events, void* opaque) {
    auto* s = static_cast<State*>(opaque);
    short e = 0;
    if (events & SLIRP_POLL_IN) e |= POLLIN;
    if (events & SLIRP_POLL_OUT) e |= POLLOUT;
    if (events & SLIRP_POLL_PRI) e |= POLLPRI;
    s->fds.push_back({fd, e, 0});
    return static_cast<int>(s->fds.size() - 1);
  }
  static int get_revents(int idx, void* opaque) {
    auto* s = static_cast<State*>(opaque);
    short r = s->fds[static_cast<size_t>(idx)].revents;
    int out = 0;
    if (r & POLLIN) out |= SLIRP_POLL_IN;
    if (r & POLLOUT) out |= SLIRP_POLL_OUT;
    if (r & POLLPRI) out |= SLIRP_POLL_PRI;
    if (r & POLLERR) out |= SLIRP_POLL_ERR;
    if (r & POLLHUP) out |= SLIRP_POLL_HUP;
    return out;
  }

  void flush() {
    while (!out.empty()) {
      ssize_t n = ::send(ours, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) return;  // EAGAIN: POLLOUT resumes it; a gone QEMU ends the loop
      out.erase(0, static_cast<size_t>(n));
    }
  }

  // Reads what QEMU sent and feeds whole frames to the stack; false once
  // QEMU closed its end or sent garbage.
  bool read_frames() {
    char buf[65536];
    ssize_t n = ::read(ours, buf, sizeof buf);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    in.append(buf, static_cast<size_t>(n));
    {
      std::lock_guard lock(egress_mu);
      if (pending_egress) filter->set_policy(std::move(*pending_egress));
      pending_egress.reset();
    }
    size_t at = 0;
    while (in.size() - at >= 4) {
      uint32_t be;
      std::memcpy(&be, in.data() + at, 4);
      uint32_t len = ntohl(be);
      if (len > kMaxFrame) {
        spdlog::error("user network: QEMU sent a {}-byte frame; closing the network", len);
        return false;
      }
      if (in.size() - at - 4 < len) break;
      std::string_view frame(in.data() + at + 4, len);
      std::string refusal;
      if (filter->admit(frame, refusal))
        slirp_input(slirp, reinterpret_cast<const uint8_t*>(frame.data()), static_cast<int>(len));
      else if (!refusal.empty()) queue(refusal.data(), refusal.size());
      at += 4 + len;
    }
    in.erase(0, at);
    return true;
  }

  void fire_timers() {
    int64_t now = now_ns() / 1000000;
    // One at a time, looking again after each: a callback may re-arm or
    // free timers, so no pointer is kept across a call.
    for (bool fired = true; fired;) {
      fired = false;
      for (auto& t : timers)
        if (t.expire_ms >= 0 && t.expire_ms <= now) {
          t.expire_ms = -1;
          t.cb(t.opaque);
          fired = true;
          break;
        }
    }
  }

  void loop() {
    bool qemu_open = true;
    while (true) {
      fds.clear();
      fds.push_back({stop_fd, POLLIN, 0});
      fds.push_back({qemu_open ? ours : -1, static_cast<short>(POLLIN | (out.empty() ? 0 : POLLOUT)), 0});
      uint32_t timeout = 1000;
      slirp_pollfds_fill(slirp, &timeout, add_poll, this);
      int64_t now = now_ns() / 1000000;
      for (const auto& t : timers)
        if (t.expire_ms >= 0)
          timeout = static_cast<uint32_t>(std::clamp<int64_t>(t.expire_ms - now, 0, timeout));
      int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout));
      if (n < 0 && errno != EINTR) spdlog::error("user network: poll: {}", std::strerror(errno));
      if (fds[0].revents) return;
      slirp_pollfds_poll(slirp, n < 0, get_revents, this);
      if (qemu_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) qemu_open = read_frames();
      if (qemu_open && (fds[1].revents & POLLOUT)) flush();
      fire_timers();
    }
  }

  ~State() {
    if (thread.joinable()) {
      uint64_t one = 1;
      (void)!::write(stop_fd, &one, sizeof one);
      thread.join();
    }
    if (slirp) slirp_cleanup(slirp);
    for (int fd : {ours, theirs, stop_fd})
      if (fd >= 0) ::close(fd);
  }
};

UserNet::UserNet(const UserNetConfig& cfg) : state_(std::make_unique<State>()) {
  State& s = *state_;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail_errno("socketpair");
  s.ours = sv[0];
  s.theirs = sv[1];
  fcntl(s.ours, F_SETFL, fcntl(s.ours, F_GETFL) | O_NONBLOCK);
  fcntl(s.theirs, F_SETFD, 0);  // inherited by QEMU
  s.stop_fd = ::eventfd(0, EFD_CLOEXEC);
  if (s.stop_fd < 0) fail_errno("eventfd");

  SlirpConfig c{};
  c.version = 1;
  c.in_enabled = true;
  c.vnetwork = addr(kUserNetwork);
  c.vnetmask = addr(kUserNetmask);
  c.vhost = addr(kUserGateway);
  c.vdhcp_start = addr(kUserGuest);
  c.vnameserver = addr(kUserDns);
  c.disable_host_loopback = true;
  static const SlirpCb callbacks = {
      State::send_packet,
      State::guest_error,
      State::clock_get_ns,
      State::timer_new,
      State::timer_free,
      State::timer_mod,
      State::register_poll_fd,
      State::unregister_poll_fd,
      State::notify,
      nullptr,
      nullptr,
  };
  s.slirp = slirp_new(&c, &callbacks, &s);
  if (!s.slirp) fail(ErrorKind::internal, "libslirp could not set up the user network");

  const in_addr guest = addr(kUserGuest);
  for (const auto& f : cfg.forwards) {
    const std::string what = (f.udp ? "udp " : "") + f.host_addr + ":" + std::to_string(f.host_port);
    in_addr host{};
    if (inet_pton(AF_INET, f.host_addr.c_str(), &host) != 1)
      fail(ErrorKind::invalid_input, "port forward: '" + f.host_addr + "' is not an IPv4 address");
    errno = 0;
    if (slirp_add_hostfwd(s.slirp, f.udp, host, f.host_port, guest, f.guest_port) != 0) {
      int err = errno;
      bool taken = err == EADDRINUSE || err == 0;
      fail(taken ? ErrorKind::conflict : ErrorKind::io,
           "cannot forward " + what + " to the guest: " + (err ? std::strerror(err) : "the port is in use"),
           "pick another host port (-p OTHER:" + std::to_string(f.guest_port) + ")");
    }
  }
  const std::string exe = quoted(cfg.connector.empty() ? self_exe() : cfg.connector);
  in_addr services = addr(kUserHostServices);
  std::vector<int> udp_forwarded;
  for (const auto& f : cfg.forwards)
    if (f.udp) udp_forwarded.push_back(f.guest_port);
  s.net_log = std::make_unique<NetLog>(cfg.net_log);
  NetLog* log = s.net_log.get();
  s.filter = std::make_unique<GuestFilter>(cfg.host_ports, udp_forwarded, cfg.egress,
                                           [log](const EgressAttempt& a) { log->write(a); });
  for (int port : cfg.host_ports) {
    std::string cmd = exe + " __connect 127.0.0.1 " + std::to_string(port);
    if (slirp_add_exec(s.slirp, cmd.c_str(), &services, port) != 0)
      fail(ErrorKind::invalid_input, "host port " + std::to_string(port) + " is allowed twice");
  }
}

UserNet::~UserNet() = default;

int UserNet::qemu_fd() const { return state_->theirs; }

void UserNet::start() {
  State& s = *state_;
  if (s.theirs >= 0) {
    ::close(s.theirs);
    s.theirs = -1;
  }
  if (!s.thread.joinable()) s.thread = std::thread([&s] { s.loop(); });
}

void UserNet::set_egress(EgressPolicy policy) {
  std::lock_guard lock(state_->egress_mu);
  state_->pending_egress = std::move(policy);
}

}  // namespace banger::net
