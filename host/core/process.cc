#include "host/core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "host/core/error.h"

extern char** environ;

namespace banger {

namespace {

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    auto key = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& x : extra)
      if (x.compare(0, key.size(), key) == 0) replaced = true;
    if (!replaced) env.push_back(std::move(entry));
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace

std::optional<std::string> find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return access(name.c_str(), X_OK) == 0 ? std::optional(name) : std::nullopt;
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  // root's PATH may lack sbin dirs on some setups; tools like mkfs live there.
  p += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty()) {
      std::string cand = dir + "/" + name;
      struct stat st {};
      if (stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(cand.c_str(), X_OK) == 0) return cand;
    }
    start = end + 1;
  }
  return std::nullopt;
}

Process Process::spawn(const SpawnOptions& opts) {
  if (opts.argv.empty()) fail(ErrorKind::internal, "spawn: empty argv");
  auto exe = find_executable(opts.argv[0]);
  if (!exe)
    fail(ErrorKind::not_found, "program not found: " + opts.argv[0],
         "install it (see scripts/install-deps.sh) or put it on PATH");

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (opts.stdin_fd < 0 && opts.pipe_stdin && pipe2(in, O_CLOEXEC) != 0) fail_errno("pipe");
  if (opts.stdout_fd < 0 && opts.pipe_stdout && pipe2(out, O_CLOEXEC) != 0) fail_errno("pipe");
  if (opts.stderr_fd < 0 && opts.pipe_stderr && pipe2(err, O_CLOEXEC) != 0) fail_errno("pipe");
  // The child reports an exec failure through this pipe.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) fail_errno("pipe");

  std::vector<std::string> env = merged_env(opts.env);
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = opts.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    if (opts.new_session) setsid();
    // Default signal dispositions for the child.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    auto wire = [](int fd, int pipe_end, int target) {
      int src = fd >= 0 ? fd : pipe_end;
      if (src >= 0 && src != target) dup2(src, target);
      if (src == target) fcntl(target, F_SETFD, 0);
    };
    wire(opts.stdin_fd, in[0], 0);
    wire(opts.stdout_fd, out[1], 1);
    wire(opts.stderr_fd, err[1], 2);
    if (opts.cwd && chdir(opts.cwd->c_str()) != 0) {
      int e = errno;
      (void)!write(report[1], &e, sizeof e);
      _exit(127);
    }
    if (opts.in_child) {
      if (int e = opts.in_child()) {
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
      }
    }
    execve(exe->c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!write(report[1], &e, sizeof e);
    _exit(127);
  }
  ::close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do n = read(report[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  ::close(report[0]);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);

  Process p;
  p.pid_ = pid;
  p.in_ = in[1];
  p.out_ = out[0];
  p.err_ = err[0];
  if (n == sizeof child_errno) {
    p.wait();
    errno = child_errno;
    fail_errno("starting " + opts.argv[0]);
  }
  return p;
}

Process::Process(Process&& o) noexcept { *this = std::move(o); }

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    this->~Process();
    pid_ = o.pid_;
    in_ = o.in_;
    out_ = o.out_;
    err_ = o.err_;
    status_ = o.status_;
    o.pid_ = -1;
    o.in_ = o.out_ = o.err_ = -1;
  }
  return *this;
}

Process::~Process() {
  close_fd(in_);
  close_fd(out_);
  close_fd(err_);
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

void Process::close_stdin() { close_fd(in_); }

int Process::wait() {
  if (status_) return *status_;
  int st = 0;
  while (waitpid(pid_, &st, 0) < 0) {
    if (errno != EINTR) fail_errno("waitpid");
  }
  status_ = decode_status(st);
  return *status_;
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
  if (!running()) return *status_;
  wait_exit(pid_, timeout);
  if (!running()) return *status_;
  return std::nullopt;
}

bool wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(left.count(), 0));
  };
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0 && errno == ESRCH) return true;
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, left_ms());
    while (n < 0 && errno == EINTR);
    ::close(fd);
    if (n >= 0) return n > 0;
  }
  while (::kill(pid, 0) == 0) {
    if (left_ms() == 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool Process::running() {
  if (status_ || pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(st);
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

pid_t Process::release() {
  pid_t p = pid_;
  pid_ = -1;
  close_fd(in_);
  close_fd(out_);
  close_fd(err_);
  return p;
}

RunResult run_capture(const std::vector<std::string>& argv, const std::string& input,
                      const std::optional<std::string>& cwd) {
  SpawnOptions o;
  o.argv = argv;
  o.cwd = cwd;
  o.pipe_stdin = true;
  o.pipe_stdout = true;
  o.pipe_stderr = true;
  Process p = Process::spawn(o);
  RunResult r;
  size_t written = 0;
  if (input.empty()) p.close_stdin();
  int in = p.stdin_fd(), out = p.stdout_fd(), err = p.stderr_fd();
  while (out >= 0 || err >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out >= 0) fds[n++] = {out, POLLIN, 0};
    if (err >= 0) fds[n++] = {err, POLLIN, 0};
    if (in >= 0) fds[n++] = {in, POLLOUT, 0};
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll");
    }
    char buf[65536];
    for (int i = 0; i < n; i++) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in) {
        ssize_t w = write(in, input.data() + written, input.size() - written);
        if (w > 0) written += w;
        if (w < 0 || written == input.size()) {
          p.close_stdin();
          in = -1;
        }
        continue;
      }
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (fds[i].fd == out ? r.out : r.err).append(buf, got);
      } else if (got == 0 || errno != EINTR) {
        if (fds[i].fd == out) out = -1;
        else err = -1;
      }
    }
  }
  r.exit_code = p.wait();
  return r;
}

std::string run_checked(const std::vector<std::string>& argv, const std::string& what) {
  RunResult r = run_capture(argv);
  if (r.exit_code != 0) {
    std::string msg = what + " failed (exit " + std::to_string(r.exit_code) + ")";
    std::string tail = r.err.size() > 2000 ? r.err.substr(r.err.size() - 2000) : r.err;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    if (!tail.empty()) msg += ": " + tail;
    fail(ErrorKind::io, msg);
  }
  return r.out;
}

}  // namespace banger
