#include "host/supervisor/client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/supervisor/control.h"

namespace banger::supervisor {

using proto::Type;

namespace {

// Signals that arrive while a command runs are written to this pipe, so the
// poll loop forwards them in order.
int g_signal_pipe[2] = {-1, -1};

void on_forwarded_signal(int sig) {
  unsigned char s = static_cast<unsigned char>(sig);
  if (g_signal_pipe[1] >= 0) (void)!::write(g_signal_pipe[1], &s, 1);
}

// Installs the forwarding handlers for one exec and restores the old ones.
class SignalForwarding {
 public:
  explicit SignalForwarding(bool tty) {
    if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) fail_errno("pipe");
    std::vector<int> sigs = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    if (tty) sigs.push_back(SIGWINCH);
    for (int s : sigs) {
      struct sigaction sa {
      }, old{};
      sa.sa_handler = on_forwarded_signal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      sigaction(s, &sa, &old);
      saved_.push_back({s, old});
    }
  }
  ~SignalForwarding() {
    for (auto& [s, old] : saved_) sigaction(s, &old, nullptr);
    ::close(g_signal_pipe[0]);
    ::close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
  }
  int fd() const { return g_signal_pipe[0]; }

 private:
  std::vector<std::pair<int, struct sigaction>> saved_;
};

// Puts a terminal in raw mode for the session; restores it after.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!isatty(fd) || tcgetattr(fd, &saved_) != 0) {
      fd_ = -1;
      return;
    }
    struct termios raw = saved_;
    cfmakeraw(&raw);
    tcsetattr(fd, TCSANOW, &raw);
  }
  ~RawTerminal() {
    if (fd_ >= 0) tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  struct termios saved_ {};
};

void write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      if (errno == EPIPE) return;  // the reader went away (e.g. `| head`)
      fail_errno("writing output");
    }
    off += n;
  }
}

proto::WindowSize window_size(int fd) {
  struct winsize ws {};
  proto::WindowSize w;
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
    w.rows = ws.ws_row;
    w.cols = ws.ws_col;
  }
  return w;
}

}  // namespace

Client::Client(int fd, std::string vm) : fd_(fd), vm_(std::move(vm)) {}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<Client> Client::connect(const std::string& socket_path, const std::string& vm) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    fail(ErrorKind::invalid_input, "control socket path too long: " + socket_path,
         "use a shorter BANGER_HOME");
  }
  std::strcpy(addr.sun_path, socket_path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    fail(ErrorKind::not_found,
         "VM '" + vm + "' is not running (no supervisor answers at " + socket_path + ")",
         "start it with 'banger vm start " + vm + "'");
  }
  std::unique_ptr<Client> c(new Client(fd, vm));
  proto::Hello hello;
  hello.software = "banger";
  hello.capabilities = {proto::kCapCredit};
  c->send(Type::hello, 0, hello.encode());
  proto::Frame f = c->receive(10000);
  if (f.type != Type::hello) c->fail_remote(f, "handshake");
  proto::Hello theirs = proto::Hello::decode(f.payload);
  proto::negotiate(hello, theirs);
  c->credit_ = theirs.has(proto::kCapCredit);
  return c;
}

void Client::send(Type type, uint32_t id, const std::string& payload) {
  write_all(fd_, proto::encode_frame(type, id, payload));
}

void Client::read_more(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  int n = ::poll(&p, 1, timeout_ms);
  if (n == 0) fail(ErrorKind::network, "VM '" + vm_ + "': the supervisor did not answer in time");
  if (n < 0) {
    if (errno == EINTR) return;
    fail_errno("poll");
  }
  char buf[64 * 1024];
  ssize_t r = ::read(fd_, buf, sizeof buf);
  if (r == 0)
    fail(ErrorKind::io, "VM '" + vm_ + "' went away (its supervisor closed the connection)",
         "see 'banger vm logs " + vm_ + "'");
  if (r < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    fail_errno("reading from VM '" + vm_ + "'");
  }
  decoder_.feed(buf, r);
}

bool Client::try_receive(proto::Frame& out) {
  auto f = decoder_.next();
  if (!f) return false;
  out = std::move(*f);
  return true;
}

proto::Frame Client::receive(int timeout_ms) {
  proto::Frame f;
  while (!try_receive(f)) read_more(timeout_ms);
  return f;
}

void Client::consumed(uint32_t id, proto::ReceiveWindow& window, size_t n) {
  if (!credit_) return;
  if (uint32_t g = window.consumed(n)) send(Type::credit, id, proto::Credit{g}.encode());
}

void Client::fail_remote(const proto::Frame& f, const std::string& what) {
  if (f.type == Type::error) vm::fail_request(proto::Failure::decode(f.payload), "VM '" + vm_ + "': " + what);
  fail(ErrorKind::internal, "VM '" + vm_ + "': " + what + ": unexpected " + proto::type_name(f.type));
}

vm::ExecStatus Client::exec(const ExecOptions& opts) {
  // A Ctrl-C forwarded to an earlier command of the same recipe ends the
  // recipe here, before the next one starts.
  check_interrupted();
  const vm::ExecRequest& req = opts.request;
  const std::string running = "running " + (req.argv.empty() ? std::string("a command") : req.argv[0]);
  vm::ExecSession session(next_id_++, req, opts.stdin_fd >= 0, credit_, "VM '" + vm_ + "': " + running);
  proto::WindowSize size;
  if (req.tty) size = window_size(opts.stdin_fd >= 0 ? opts.stdin_fd : 1);
  std::unique_ptr<SignalForwarding> signals;
  if (opts.forward_signals) signals = std::make_unique<SignalForwarding>(req.tty);
  std::unique_ptr<RawTerminal> raw;
  if (req.tty && opts.stdin_fd >= 0) raw = std::make_unique<RawTerminal>(opts.stdin_fd);

  send(session.start(size));
  int in_fd = opts.stdin_fd;
  // Set when the user's Ctrl-C (or a SIGTERM, SIGHUP) went to the command:
  // once it ends, the flag is banger's too, so the recipe stops with 130
  // instead of going on to its next step.
  bool cancelled = false;
  // Output is granted back as it is written out, so a slow reader of our
  // stdout holds up this command only; stdin goes out as the agent grants.
  for (;;) {
    proto::Frame f;
    while (try_receive(f)) {
      // The supervisor's complaint about the connection ends the command too.
      if (f.id == 0 && f.type == Type::error) fail_remote(f, running);
      vm::ExecEvent ev = session.feed(std::move(f));
      if (ev.kind == vm::ExecEvent::Kind::exited) {
        if (cancelled) set_interrupted(true);
        return ev.status;
      }
      if (ev.kind != vm::ExecEvent::Kind::output) continue;
      if (std::string* keep = ev.from_stderr ? opts.capture_stderr : opts.capture_stdout) {
        if (keep->size() + ev.data.size() > opts.capture_limit)
          fail(ErrorKind::io,
               "VM '" + vm_ + "': " + running + ": its " + (ev.from_stderr ? "stderr" : "stdout") +
                   " passed the " + std::to_string(opts.capture_limit >> 20) + " MiB capture limit",
               "redirect the command's output to a file in the guest and copy that out with 'banger vm cp'");
        keep->append(ev.data);
      } else {
        write_all(ev.from_stderr ? opts.stderr_fd : opts.stdout_fd, ev.data);
      }
      if (auto grant = session.delivered(ev.data.size())) send(*grant);
    }
    std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
    if (in_fd >= 0 && session.stdin_room() > 0) fds.push_back({in_fd, POLLIN, 0});
    if (signals) fds.push_back({signals->fd(), POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll");
    }
    for (auto& p : fds) {
      if (!p.revents) continue;
      if (p.fd == fd_) {
        read_more(0);
      } else if (p.fd == in_fd) {
        char buf[proto::kDataChunk];
        ssize_t r = ::read(in_fd, buf, std::min(sizeof buf, session.stdin_room()));
        if (r > 0) {
          send(session.stdin_data(std::string(buf, r)));
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          send(session.stdin_eof());
          in_fd = -1;
        }
      } else if (signals && p.fd == signals->fd()) {
        unsigned char s;
        while (::read(signals->fd(), &s, 1) == 1) {
          if (s == SIGWINCH) {
            send(session.resize(window_size(opts.stdin_fd)));
            continue;
          }
          cancelled = cancelled || s == SIGINT || s == SIGTERM || s == SIGHUP;
          send(session.signal(s));
        }
      }
    }
  }
}

void Client::put_file(const std::string& local_path, const std::string& guest_path, uint32_t mode,
                      uint32_t uid, uint32_t gid) {
  int fd = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("reading " + local_path);
  struct stat st {};
  fstat(fd, &st);
  uint32_t id = next_id_++;
  proto::FilePut put{guest_path, mode, uid, gid, static_cast<uint64_t>(st.st_size)};
  try {
    send(Type::file_put, id, put.encode());
    char buf[proto::kDataChunk];
    for (;;) {
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r < 0) {
        if (errno == EINTR) continue;
        fail_errno("reading " + local_path);
      }
      if (r == 0) break;
      send(Type::file_data, id, std::string(buf, r));
      // An early refusal (bad path) arrives while we send: stop at once.
      proto::Frame f;
      if (try_receive(f) && f.type == Type::error) fail_remote(f, "copying to " + guest_path);
    }
    send(Type::file_end, id, "");
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  for (;;) {
    proto::Frame f = receive();
    if (f.id != id) continue;
    if (f.type == Type::file_end) return;
    fail_remote(f, "copying to " + guest_path);
  }
}

uint32_t Client::get_file(const std::string& guest_path, const std::string& local_path) {
  uint32_t id = next_id_++;
  send(Type::file_get, id, proto::FileGet{guest_path}.encode());
  proto::Frame f = receive();
  if (f.type != Type::file_info) fail_remote(f, "copying " + guest_path);
  auto info = proto::FileInfo::decode(f.payload);
  // The guest is untrusted: it decides the bytes and nothing else. The file
  // gets only rwx bits under the user's umask (as docker cp and scp do: never
  // setuid, setgid or sticky), no more bytes than the guest announced, and
  // lands at DEST only when whole.
  const std::string what = "copying " + vm_ + ":" + guest_path + " to " + local_path;
  std::string dir =
      local_path.find('/') == std::string::npos ? "." : local_path.substr(0, local_path.rfind('/') + 1);
  if (unsigned long long free = fs::free_bytes(dir); info.size > free)
    fail(ErrorKind::io,
         what + ": the file is " + std::to_string(info.size) + " bytes, and only " + std::to_string(free) +
             " are free there",
         "free some space, or copy it somewhere else");
  fs::PendingFile out(local_path);
  proto::ReceiveWindow window;
  uint64_t received = 0;
  for (;;) {
    f = receive();
    if (f.id != id) continue;
    if (f.type == Type::file_data) {
      if (f.payload.size() > info.size - received)
        fail(ErrorKind::io,
             what + ": VM '" + vm_ + "' sent more than the " + std::to_string(info.size) +
                 " bytes it announced; nothing was written",
             "the guest's agent misbehaves: check what runs in the VM ('banger vm logs " + vm_ + "')");
      out.write(f.payload);
      received += f.payload.size();
      consumed(id, window, f.payload.size());
    } else if (f.type == Type::file_end) {
      break;
    } else {
      fail_remote(f, "copying " + guest_path);
    }
  }
  if (received != info.size)
    fail(ErrorKind::io,
         what + ": VM '" + vm_ + "' sent " + std::to_string(received) + " of the " +
             std::to_string(info.size) + " bytes it announced; nothing was written",
         "the file may have changed while it was copied: copy it again");
  const uint32_t mode = info.mode & 0777 & ~fs::current_umask();
  out.publish(mode, false);
  return mode;
}

std::vector<proto::Port> Client::ports() {
  uint32_t id = next_id_++;
  send(Type::ports_request, id, "");
  proto::Frame f = receive(10000);
  if (f.type != Type::ports) fail_remote(f, "listing ports");
  return proto::Ports::decode(f.payload).ports;
}

proto::Stats Client::stats() {
  uint32_t id = next_id_++;
  send(Type::stats_request, id, "");
  proto::Frame f = receive(10000);
  if (f.type != Type::stats) fail_remote(f, "reading stats");
  return proto::Stats::decode(f.payload);
}

nlohmann::json Client::info() {
  uint32_t id = next_id_++;
  send(kInfoRequest, id, "");
  proto::Frame f = receive(10000);
  if (f.type != kInfo) fail_remote(f, "info");
  return nlohmann::json::parse(f.payload, nullptr, false);
}

nlohmann::json Client::control(const nlohmann::json& request, int timeout_s) {
  uint32_t id = next_id_++;
  send(kControl, id, request.dump());
  proto::Frame f = receive(timeout_s * 1000);
  if (f.type != kControlReply) fail_remote(f, request.value("op", std::string("control")));
  auto reply = nlohmann::json::parse(f.payload, nullptr, false);
  if (!reply.is_object()) fail(ErrorKind::internal, "VM '" + vm_ + "': malformed control reply");
  if (reply.contains("error")) {
    const auto& e = reply["error"];
    fail(kind_from_name(e.value("kind", std::string("internal"))), e.value("message", std::string()),
         e.value("hint", std::string()));
  }
  return reply.value("result", nlohmann::json::object());
}

void Client::stop(int timeout_s, bool now) {
  send(kStop, 0, now ? "now" : "");
  // The supervisor closes every connection once the VM is down and cleaned up.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      fail(ErrorKind::io, "VM '" + vm_ + "' did not stop within " + std::to_string(timeout_s) + " s");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
      char buf[4096];
      ssize_t r = ::read(fd_, buf, sizeof buf);
      if (r <= 0 && !(r < 0 && errno == EINTR)) return;
    }
  }
}

}  // namespace banger::supervisor
