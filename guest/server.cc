// The agent's event loop: one thread, poll() over the channel, a signalfd
// (children, shutdown signals) and every running command's pipes. Output is
// flow-controlled per stream (proto/flow.h): a command whose window is used
// up is not read until the host grants more, so only that command blocks in
// write. The channel queue is bounded too: when the host reads the channel
// slowly, the agent stops reading every pipe, so memory stays bounded.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

#include "guest/agent.h"
#include "guest/exec.h"
#include "guest/files.h"
#include "guest/observe.h"
#include "proto/messages.h"

namespace banger::agent {

namespace {

using proto::Type;

constexpr size_t kOutHighWater = 1 << 20;  // stop reading pipes above this
// stdin bytes buffered per command: a host with "credit" stays within one
// window; one without it gets an error past this instead of unbounded memory.
constexpr size_t kStdinLimit = 4 << 20;
constexpr uint64_t kDrainUs = 250000;  // output grace after a command exits
constexpr int kDrainChunks = 64;       // what a forced drain takes at most

// What one read of a command's pipe gave.
enum class PipeRead { data, empty, closed, blocked };

class Server {
 public:
  explicit Server(const BootInfo& boot) : boot_(boot), pid1_(getpid() == 1) {}
  void run();

 private:
  void send(Type t, uint32_t id, const std::string& payload);
  void send_hello_ready();
  void on_frame(const proto::Frame& f);
  void on_exec(uint32_t id, const std::string& payload);
  void read_channel();
  void flush_channel();
  void disconnect(const char* why);
  PipeRead read_job(Job& j, bool err);
  bool drain_pipe(Job& j, bool err);
  void write_stdin(Job& j);
  void on_credit(uint32_t id, uint32_t bytes);
  void release_windows();
  void on_signals();
  void reap();
  void finish_ready_jobs(bool force_drained);
  void on_file_frame(const proto::Frame& f);
  void pump_downloads();
  void step(std::vector<pollfd>& fds, std::vector<std::pair<uint32_t, int>>& owners);
  void close_fd(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }

  BootInfo boot_;
  bool pid1_;
  proto::Ready ready_;
  proto::Hello hello_;
  int chan_ = -1;
  int sigfd_ = -1;
  uint64_t reconnect_at_ = 0;
  proto::Decoder dec_;
  std::deque<std::string> outq_;
  size_t out_off_ = 0, out_bytes_ = 0;
  std::map<uint32_t, Job> jobs_;
  std::map<uint32_t, Upload> uploads_;
  std::map<uint32_t, Download> downloads_;
  bool credit_ = false;  // the host grants credit (it said "credit" in Hello)
  bool shutdown_ = false, reboot_ = false;
};

void Server::send(Type t, uint32_t id, const std::string& payload) {
  if (chan_ < 0) return;
  std::string frame = proto::encode_frame(t, id, payload);
  out_bytes_ += frame.size();
  outq_.push_back(std::move(frame));
}

void Server::send_hello_ready() {
  send(Type::hello, 0, hello_.encode());
  send(Type::ready, 0, ready_.encode());
}

void Server::disconnect(const char* why) {
  // The host side of the port went away (QEMU's socket closed): drop what was
  // queued for it and look again shortly; a new host starts with Hello.
  outq_.clear();
  out_off_ = out_bytes_ = 0;
  dec_ = proto::Decoder();
  release_windows();
  reconnect_at_ = uptime_ms() + 200;
  (void)why;
}

void Server::flush_channel() {
  while (!outq_.empty()) {
    std::string& f = outq_.front();
    ssize_t n = write(chan_, f.data() + out_off_, f.size() - out_off_);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      disconnect("write");
      return;
    }
    out_off_ += n;
    out_bytes_ -= n;
    if (out_off_ == f.size()) {
      outq_.pop_front();
      out_off_ = 0;
    }
  }
}

void Server::read_channel() {
  char buf[65536];
  ssize_t n = read(chan_, buf, sizeof buf);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) disconnect("read");
    return;
  }
  if (n == 0) {
    disconnect("eof");
    return;
  }
  try {
    dec_.feed(buf, n);
    while (auto f = dec_.next()) {
      try {
        on_frame(*f);
      } catch (const proto::ProtocolError& e) {
        // A malformed message: refuse that request, keep the stream.
        send(Type::error, f->id, proto::Failure{"invalid_input", e.what()}.encode());
      }
    }
  } catch (const proto::ProtocolError& e) {
    log("protocol error from the host: %s", e.what());
    send(Type::error, 0, proto::Failure{"protocol", e.what()}.encode());
    dec_ = proto::Decoder();
  }
}

void Server::on_frame(const proto::Frame& f) {
  auto job = jobs_.find(f.id);
  Job* j = job == jobs_.end() ? nullptr : &job->second;
  switch (f.type) {
    case Type::hello: {
      auto h = proto::Hello::decode(f.payload);
      try {
        proto::negotiate(hello_, h);
      } catch (const proto::ProtocolError& e) {
        send(Type::error, 0, proto::Failure{"protocol", e.what()}.encode());
        return;
      }
      // Streams started before this Hello keep the flow control they began
      // with, unless this host does not grant credit: then nobody would.
      credit_ = h.has(proto::kCapCredit);
      if (!credit_) release_windows();
      send_hello_ready();
      return;
    }
    case Type::ping:
      send(Type::pong, f.id, f.payload);
      return;
    case Type::pong:
    case Type::ready:
      return;
    case Type::identity: {
      IdentityResult r = apply_identity(f.payload);
      ready_.hostname = r.hostname;
      if (r.error.empty()) send(Type::identity, f.id, "");
      else send(Type::error, f.id, proto::Failure{"io", r.error}.encode());
      return;
    }
    case Type::poweroff:
      reboot_ = proto::Poweroff::decode(f.payload).reboot;
      shutdown_ = true;
      return;
    case Type::exec:
      on_exec(f.id, f.payload);
      return;
    case Type::stdin_data:
      if (j && j->in_fd >= 0 && !j->in_eof) {
        if (j->in_buf.size() + f.payload.size() > kStdinLimit)
          send(Type::error, f.id, proto::Failure{"io", "stdin buffer full"}.encode());
        else j->in_buf += f.payload;
      }
      return;
    case Type::stdin_eof:
      if (j) j->in_eof = true;
      return;
    case Type::signal:
      if (j && !j->reaped) {
        int sig = proto::Signal::decode(f.payload).signo;
        if (kill(-j->pid, sig) != 0) kill(j->pid, sig);
      }
      return;
    case Type::window_size:
      if (j && j->tty && j->out_fd >= 0) {
        auto ws = proto::WindowSize::decode(f.payload);
        winsize w{};
        w.ws_row = ws.rows;
        w.ws_col = ws.cols;
        ioctl(j->out_fd, TIOCSWINSZ, &w);
      }
      return;
    case Type::file_put:
    case Type::file_get:
    case Type::file_data:
    case Type::file_end:
      on_file_frame(f);
      return;
    case Type::ports_request:
      send(Type::ports, f.id, listening_ports().encode());
      return;
    case Type::stats_request:
      send(Type::stats, f.id, system_stats().encode());
      return;
    case Type::credit:
      on_credit(f.id, proto::Credit::decode(f.payload).bytes);
      return;
    default:
      send(Type::error, f.id,
           proto::Failure{"unsupported",
                          std::string("this agent does not serve ") + proto::type_name(f.type) + " requests"}
               .encode());
  }
}

void Server::on_exec(uint32_t id, const std::string& payload) {
  auto req = proto::Exec::decode(payload);
  if (jobs_.count(id)) {
    send(Type::error, id,
         proto::Failure{"invalid_input", "request id " + std::to_string(id) + " is in use"}.encode());
    return;
  }
  Job j;
  std::string error;
  wait_for_network();
  if (!start_job(req, j, error)) {
    send(Type::error, id, proto::Failure{"io", error}.encode());
    return;
  }
  j.id = id;
  j.out_window = proto::SendWindow(credit_);
  if (!req.stdin && j.in_fd >= 0) close_fd(j.in_fd);
  send(Type::exec_started, id, proto::ExecStarted{j.pid}.encode());
  jobs_[id] = std::move(j);
}

void Server::on_file_frame(const proto::Frame& f) {
  std::string error;
  if (f.type == Type::file_get) {
    if (downloads_.count(f.id) || uploads_.count(f.id)) {
      send(Type::error, f.id, proto::Failure{"invalid_input", "request id in use"}.encode());
      return;
    }
    Download d;
    d.window = proto::SendWindow(credit_);
    proto::FileInfo info;
    if (!begin_download(proto::FileGet::decode(f.payload).path, d, info, error)) {
      send(Type::error, f.id, proto::Failure{errno == ENOENT ? "not_found" : "io", error}.encode());
      return;
    }
    send(Type::file_info, f.id, info.encode());
    downloads_[f.id] = d;
    return;
  }
  if (f.type == Type::file_put) {
    if (downloads_.count(f.id) || uploads_.count(f.id)) {
      send(Type::error, f.id, proto::Failure{"invalid_input", "request id in use"}.encode());
      return;
    }
    Upload up;
    if (!begin_upload(proto::FilePut::decode(f.payload), up, error)) {
      up.failed = true;
      send(Type::error, f.id, proto::Failure{errno == ENOENT ? "not_found" : "io", error}.encode());
    }
    uploads_[f.id] = std::move(up);
    return;
  }
  auto it = uploads_.find(f.id);
  if (it == uploads_.end()) return;
  Upload& up = it->second;
  if (f.type == Type::file_data) {
    if (!up.failed && !write_upload(up, f.payload, error)) {
      up.failed = true;
      abort_upload(up);
      send(Type::error, f.id, proto::Failure{"io", error}.encode());
    }
    return;
  }
  // file_end
  if (!up.failed) {
    if (finish_upload(up, error)) send(Type::file_end, f.id, "");
    else send(Type::error, f.id, proto::Failure{"io", error}.encode());
  }
  abort_upload(up);
  uploads_.erase(it);
}

void Server::on_credit(uint32_t id, uint32_t bytes) {
  if (auto j = jobs_.find(id); j != jobs_.end()) j->second.out_window.grant(bytes);
  if (auto d = downloads_.find(id); d != downloads_.end()) d->second.window.grant(bytes);
}

void Server::release_windows() {
  // Nobody will grant these streams more: let them run as without credit.
  for (auto& [id, j] : jobs_) j.out_window.unlimit();
  for (auto& [id, d] : downloads_) d.window.unlimit();
}

void Server::pump_downloads() {
  for (auto it = downloads_.begin(); it != downloads_.end() && out_bytes_ < kOutHighWater;) {
    Download& d = it->second;
    char buf[proto::kDataChunk];
    // Only the size announced in file_info, as tar does: a file that grows
    // while it is read is sent as it was; the host refuses any more.
    size_t want = std::min<uint64_t>(std::min(sizeof buf, d.window.room()), d.size - d.sent);
    if (want == 0 && d.sent < d.size) {  // waiting for credit
      ++it;
      continue;
    }
    ssize_t n = want == 0 ? 0 : read(d.fd, buf, want);
    if (n > 0) {
      d.sent += n;
      d.window.sent(n);
      send(Type::file_data, it->first, std::string(buf, n));
      ++it;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      send(Type::error, it->first, proto::Failure{"io", std::string("reading: ") + strerror(errno)}.encode());
    else send(Type::file_end, it->first, "");
    close(d.fd);
    it = downloads_.erase(it);
  }
}

PipeRead Server::read_job(Job& j, bool err) {
  int& fd = err ? j.err_fd : j.out_fd;
  if (fd < 0) return PipeRead::closed;
  char buf[proto::kDataChunk];
  size_t want = std::min(sizeof buf, j.out_window.room());
  if (want == 0) return PipeRead::blocked;
  ssize_t n = read(fd, buf, want);
  if (n > 0) {
    j.out_window.sent(n);
    send(err ? Type::stderr_data : Type::stdout_data, j.id, std::string(buf, n));
    return PipeRead::data;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return PipeRead::empty;
  // EOF, or EIO from a pty master once the last slave is closed.
  close_fd(fd);
  if (j.tty) j.in_fd >= 0 ? close_fd(j.in_fd) : void();
  return PipeRead::closed;
}

// Takes what a finished command's pipe holds, kDrainChunks at most over all
// calls. Returns true when the window ran out first (call again on credit).
bool Server::drain_pipe(Job& j, bool err) {
  while (j.drain_reads < kDrainChunks) {
    PipeRead r = read_job(j, err);
    if (r == PipeRead::blocked) return true;
    if (r != PipeRead::data) return false;
    ++j.drain_reads;
  }
  return false;
}

void Server::write_stdin(Job& j) {
  if (j.in_fd < 0) return;
  while (!j.in_buf.empty()) {
    ssize_t n = write(j.in_fd, j.in_buf.data(), j.in_buf.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      // EPIPE: the command closed its stdin; drop the rest.
      j.in_buf.clear();
      close_fd(j.in_fd);
      return;
    }
    j.in_buf.erase(0, n);
    if (credit_)
      if (uint32_t g = j.in_window.consumed(n)) send(Type::credit, j.id, proto::Credit{g}.encode());
  }
  if (j.in_eof) {
    if (j.tty) {
      // A tty has no half-close: send the EOF character, keep the fd.
      char eof = 4;
      (void)!write(j.in_fd, &eof, 1);
      j.in_eof = false;
    } else {
      close_fd(j.in_fd);
    }
  }
}

void Server::reap() {
  while (true) {
    int status = 0;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p <= 0) break;
    network_setup_reaped(p);
    for (auto& [id, j] : jobs_)
      if (j.pid == p) {
        j.reaped = true;
        j.status = status;
        j.end_us = monotonic_us();
        j.idle_from_us = j.end_us;
      }
  }
}

void Server::finish_ready_jobs(bool force_drained) {
  uint64_t now = monotonic_us();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& j = it->second;
    bool drained = j.out_fd < 0 && j.err_fd < 0;
    if (j.reaped && !drained) {
      if (j.out_window.room() == 0) {
        j.idle_from_us = now;  // waiting for credit is not a pipe held open
      } else if (force_drained || j.draining || now - j.idle_from_us > kDrainUs) {
        // A background process holds the pipes open: take what is there
        // (as far as the window allows, resuming on credit) and stop.
        j.draining = true;
        if (!drain_pipe(j, false) && !drain_pipe(j, true)) {
          close_fd(j.out_fd);
          close_fd(j.err_fd);
          drained = true;
        }
      }
    }
    if (j.reaped && drained) {
      proto::Exit e;
      if (WIFSIGNALED(j.status)) {
        e.signal = WTERMSIG(j.status);
        e.code = 128 + e.signal;
      } else {
        e.code = WEXITSTATUS(j.status);
      }
      e.duration_us = j.end_us - j.start_us;
      close_fd(j.in_fd);
      send(Type::exit, j.id, e.encode());
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void Server::on_signals() {
  signalfd_siginfo si{};
  while (read(sigfd_, &si, sizeof si) == sizeof si) {
    switch (si.ssi_signo) {
      case SIGCHLD:
        break;
      case SIGINT:  // ctrl-alt-del
        shutdown_ = true;
        reboot_ = true;
        break;
      case SIGTERM:
      case SIGPWR:
        shutdown_ = true;
        break;
    }
  }
  reap();
}

void Server::run() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGPWR}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sigfd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (pid1_) reboot(RB_DISABLE_CAD);  // ctrl-alt-del becomes SIGINT

  hello_.software = std::string("banger-agent ") + kVersion;
  hello_.capabilities = {proto::kCapExec,     proto::kCapStdin,   proto::kCapTty,   proto::kCapSignal,
                         proto::kCapPoweroff, proto::kCapFile,    proto::kCapPorts, proto::kCapStats,
                         proto::kCapCredit,   proto::kCapIdentity};
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);

  chan_ = open_channel(-1);
  trace("channel open");
  uint64_t now = uptime_ms();
  ready_.kernel_to_init_ms = static_cast<uint32_t>(boot_.init_uptime_ms);
  ready_.init_to_ready_ms = static_cast<uint32_t>(now - std::min(now, boot_.init_uptime_ms));
  ready_.uptime_ms = static_cast<uint32_t>(now);
  ready_.mode = boot_.mode;
  ready_.hostname = host;
  ready_.kernel = u.release;
  send_hello_ready();
  // After the ready message, so the console write does not delay it.
  log("ready at %llu ms (%s, kernel %s, hostname %s)", static_cast<unsigned long long>(now),
      boot_.mode.c_str(), u.release, host);

  std::vector<pollfd> fds;
  std::vector<std::pair<uint32_t, int>> owners;  // job id, 0 out / 1 err / 2 in
  while (!shutdown_) {
    try {
      step(fds, owners);
    } catch (const std::exception& e) {
      // PID 1 must not die: log, and keep serving.
      log("internal error: %s", e.what());
      usleep(10000);
    }
  }
  log("%s", reboot_ ? "rebooting" : "powering off");
  shutdown_system(reboot_, pid1_);
}

void Server::step(std::vector<pollfd>& fds, std::vector<std::pair<uint32_t, int>>& owners) {
  {
    fds.clear();
    owners.clear();
    fds.push_back({sigfd_, POLLIN, 0});
    owners.push_back({0, -1});
    bool chan_polled = reconnect_at_ == 0 || uptime_ms() >= reconnect_at_;
    if (chan_polled) {
      reconnect_at_ = 0;
      fds.push_back({chan_, static_cast<short>(POLLIN | (outq_.empty() ? 0 : POLLOUT)), 0});
      owners.push_back({0, -2});
    }
    bool room = out_bytes_ < kOutHighWater;
    bool waiting_drain = false;
    for (auto& [id, j] : jobs_) {
      bool readable = room && j.out_window.room() > 0;
      if (readable && j.out_fd >= 0) {
        fds.push_back({j.out_fd, POLLIN, 0});
        owners.push_back({id, 0});
      }
      if (readable && j.err_fd >= 0) {
        fds.push_back({j.err_fd, POLLIN, 0});
        owners.push_back({id, 1});
      }
      if (j.in_fd >= 0 && (!j.in_buf.empty() || j.in_eof)) {
        fds.push_back({j.in_fd, POLLOUT, 0});
        owners.push_back({id, 2});
      }
      if (j.reaped) waiting_drain = true;
    }
    int timeout = -1;
    if (!chan_polled) timeout = 200;
    if (waiting_drain) timeout = 50;
    for (auto& [id, d] : downloads_)
      if (room && d.window.room() > 0) timeout = 0;
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      log("poll: %s", strerror(errno));
      usleep(100000);
    }
    for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
      short re = fds[i].revents;
      if (!re) continue;
      auto [id, what] = owners[i];
      if (what == -1) {
        on_signals();
      } else if (what == -2) {
        if (re & POLLIN) read_channel();
        else if (re & (POLLHUP | POLLERR)) disconnect("hangup");
        if (chan_ >= 0 && reconnect_at_ == 0 && (re & POLLOUT)) flush_channel();
      } else {
        auto it = jobs_.find(id);
        if (it == jobs_.end()) continue;
        if (what == 2) write_stdin(it->second);
        else read_job(it->second, what == 1);
      }
    }
    if (boot_.oldroot_fd >= 0 && outq_.empty()) {
      // Ready is out: the rest of the boot (late modules, freeing the
      // initramfs) goes to a child process, so the first command does not
      // wait behind it (40-75 ms under TCG). reap() collects the child.
      if (fork() == 0) {
        prefetch_command_basics();
        load_modules(boot_.oldroot_fd, ModulePhase::late);
        free_initramfs(boot_.oldroot_fd);
        _exit(0);
      }
      close(boot_.oldroot_fd);
      boot_.oldroot_fd = -1;
    }
    if (reconnect_at_ == 0) pump_downloads();
    if (reconnect_at_ == 0 && !outq_.empty()) flush_channel();
    finish_ready_jobs(false);
    if (reconnect_at_ == 0 && !outq_.empty()) flush_channel();
  }
}

}  // namespace

void serve(const BootInfo& boot) { Server(boot).run(); }

}  // namespace banger::agent
