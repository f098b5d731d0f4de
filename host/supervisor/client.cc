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

#include "host/core/error.h"
#include "host/core/fs.h"
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
      struct sigaction sa {}, old{};
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
    fail(ErrorKind::not_found, "VM '" + vm + "' is not running (no supervisor answers at " + socket_path + ")",
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
  if (f.type == Type::error) {
    auto e = proto::Failure::decode(f.payload);
    ErrorKind kind = kind_from_name(e.kind);
    if (e.kind == "protocol") kind = ErrorKind::unsupported;
    fail(kind, "VM '" + vm_ + "': " + what + ": " + e.message);
  }
  fail(ErrorKind::internal, "VM '" + vm_ + "': " + what + ": unexpected " + proto::type_name(f.type));
}

ExecOutcome Client::exec(const ExecOptions& opts) {
  uint32_t id = next_id_++;
  proto::Exec req;
  req.argv = opts.argv;
  req.env = opts.env;
  req.cwd = opts.cwd;
  req.user = opts.user;
  req.tty = opts.tty;
  req.stdin = opts.stdin_fd >= 0;
  if (opts.tty) {
    auto w = window_size(opts.stdin_fd >= 0 ? opts.stdin_fd : 1);
    req.rows = w.rows;
    req.cols = w.cols;
  }
  std::unique_ptr<SignalForwarding> signals;
  if (opts.forward_signals) signals = std::make_unique<SignalForwarding>(opts.tty);
  std::unique_ptr<RawTerminal> raw;
  if (opts.tty && opts.stdin_fd >= 0) raw = std::make_unique<RawTerminal>(opts.stdin_fd);

  std::string request = req.encode();
  if (request.size() > proto::kMaxPayload)
    fail(ErrorKind::invalid_input,
         "the command's arguments and environment take " + std::to_string(request.size()) +
             " bytes; the limit is " + std::to_string(proto::kMaxPayload) + " (1 MiB)",
         "pass large input on stdin, or copy it in with 'banger vm cp'");
  send(Type::exec, id, request);
  int in_fd = opts.stdin_fd;
  // Output is granted back as it is written out, so a slow reader of our
  // stdout holds up this command only; stdin goes out as the agent grants.
  proto::ReceiveWindow output;
  proto::SendWindow input(credit_);
  ExecOutcome outcome;
  for (;;) {
    proto::Frame f;
    while (try_receive(f)) {
      switch (f.type) {
        case Type::exec_started:
          break;
        case Type::stdout_data:
          write_all(opts.stdout_fd, f.payload);
          consumed(id, output, f.payload.size());
          break;
        case Type::stderr_data:
          write_all(opts.stderr_fd, f.payload);
          consumed(id, output, f.payload.size());
          break;
        case Type::credit:
          input.grant(proto::Credit::decode(f.payload).bytes);
          break;
        case Type::exit: {
          auto e = proto::Exit::decode(f.payload);
          outcome.exit_code = e.code;
          outcome.signal = e.signal;
          outcome.guest_us = e.duration_us;
          return outcome;
        }
        case Type::error:
          fail_remote(f, "running " + (opts.argv.empty() ? std::string("a command") : opts.argv[0]));
        default:
          break;
      }
    }
    std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
    if (in_fd >= 0 && input.room() > 0) fds.push_back({in_fd, POLLIN, 0});
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
        ssize_t r = ::read(in_fd, buf, std::min(sizeof buf, input.room()));
        if (r > 0) {
          input.sent(r);
          send(Type::stdin_data, id, std::string(buf, r));
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          send(Type::stdin_eof, id, "");
          in_fd = -1;
        }
      } else if (signals && p.fd == signals->fd()) {
        unsigned char s;
        while (::read(signals->fd(), &s, 1) == 1) {
          if (s == SIGWINCH) send(Type::window_size, id, window_size(opts.stdin_fd).encode());
          else send(Type::signal, id, proto::Signal{s}.encode());
        }
      }
    }
  }
}

void Client::put_file(const std::string& local_path, const std::string& guest_path, uint32_t mode, uint32_t uid,
                      uint32_t gid) {
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
  std::string tmp = local_path + ".banger-partial";
  proto::ReceiveWindow window;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail_errno("writing " + local_path);
  try {
    for (;;) {
      f = receive();
      if (f.id != id) continue;
      if (f.type == Type::file_data) {
        write_all(fd, f.payload);
        consumed(id, window, f.payload.size());
      } else if (f.type == Type::file_end) {
        break;
      } else {
        fail_remote(f, "copying " + guest_path);
      }
    }
    fchmod(fd, info.mode & 07777);
    ::close(fd);
    fd = -1;
    if (rename(tmp.c_str(), local_path.c_str()) != 0) fail_errno("writing " + local_path);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    unlink(tmp.c_str());
    throw;
  }
  return info.mode;
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

void Client::stop(int timeout_s, bool now) {
  send(kStop, 0, now ? "now" : "");
  // The supervisor closes every connection once the VM is down and cleaned up.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) fail(ErrorKind::io, "VM '" + vm_ + "' did not stop within " + std::to_string(timeout_s) + " s");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
      char buf[4096];
      ssize_t r = ::read(fd_, buf, sizeof buf);
      if (r <= 0 && !(r < 0 && errno == EINTR)) return;
    }
  }
}

}  // namespace banger::supervisor
