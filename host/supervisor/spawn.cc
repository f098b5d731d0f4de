#include "host/supervisor/spawn.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/core/process.h"

namespace banger::supervisor {

namespace {

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : std::string();
}

std::string log_tail(const std::string& path, size_t max_lines = 20) {
  std::string text;
  try {
    text = fs::read_file(path);
  } catch (const Error&) {
    return "";
  }
  size_t pos = text.size();
  size_t lines = 0;
  while (pos > 0 && lines <= max_lines) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
    lines++;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace

std::string banger_binary() {
  if (const char* b = std::getenv("BANGER_BIN"); b && *b) return b;
  std::string self = self_exe();
  if (self.size() >= 7 && self.substr(self.size() - 7) == "/banger") return self;
  std::string dir = self.substr(0, self.rfind('/'));
  for (const auto& c : {dir + "/banger", dir + "/../banger"})
    if (access(c.c_str(), X_OK) == 0) return c;
  fail(ErrorKind::not_found, "cannot find the banger binary to run the VM supervisor",
       "set BANGER_BIN to the path of build/banger");
}

bool kill_orphan_vmm(long pid, const std::string& state_dir) {
  if (pid <= 0 || state_dir.empty() || kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::string cmdline;
  try {
    cmdline = fs::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  } catch (const Error&) {
    return false;
  }
  if (cmdline.find(state_dir + "/") == std::string::npos) return false;
  kill(static_cast<pid_t>(pid), SIGKILL);
  wait_exit(static_cast<pid_t>(pid), std::chrono::seconds(2));
  return true;
}

bool supervisor_alive(long pid, const std::string& name) {
  if (pid <= 0 || kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::string cmdline;
  try {
    cmdline = fs::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  } catch (const Error&) {
    return false;
  }
  // Our own supervisor for this VM, not a recycled pid.
  return cmdline.find("__supervise") != std::string::npos &&
         cmdline.find("/" + name + "/") != std::string::npos;
}

bool terminate_supervisor(long pid, const std::string& name) {
  return supervisor_alive(pid, name) && kill(static_cast<pid_t>(pid), SIGTERM) == 0;
}

bool wait_supervisor_exit(long pid, const std::string& name, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (supervisor_alive(pid, name)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    check_interrupted();
    ::usleep(20 * 1000);
  }
  return true;
}

Launch Launch::start(const std::string& spec_path, const std::string& log_path) {
  std::string exe = banger_binary();
  int status[2];
  if (pipe2(status, O_CLOEXEC) != 0) fail_errno("pipe");
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) {
    ::close(status[0]);
    ::close(status[1]);
    fail_errno("opening " + log_path);
  }
  // Double fork: the supervisor is reparented at once, so it never lingers
  // as a zombie of a long-lived client (the REPL); it reports its pid first.
  pid_t mid = fork();
  if (mid < 0) fail_errno("fork");
  if (mid == 0) {
    setsid();
    if (fork() != 0) _exit(0);
    int devnull = ::open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    dup2(status[1], 3);  // dup2 clears CLOEXEC on the copy
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execl(exe.c_str(), exe.c_str(), "__supervise", spec_path.c_str(), "3", static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(status[1]);
  ::close(log);
  waitpid(mid, nullptr, 0);
  Launch l;
  l.status_fd_ = status[0];
  l.log_path_ = log_path;
  return l;
}

Launch::Launch(Launch&& o) noexcept : status_fd_(o.status_fd_), log_path_(std::move(o.log_path_)) {
  o.status_fd_ = -1;
}

Launch::~Launch() {
  if (status_fd_ >= 0) ::close(status_fd_);  // not waited for: it runs on, as a started VM does
}

nlohmann::json spawn(const std::string& spec_path, const std::string& log_path,
                     std::chrono::seconds timeout) {
  return Launch::start(spec_path, log_path).wait(timeout);
}

nlohmann::json Launch::wait(std::chrono::seconds timeout) {
  if (status_fd_ < 0) fail(ErrorKind::invalid_input, "this supervisor launch was already waited for");
  int fd = status_fd_;
  status_fd_ = -1;
  const std::string& log_path = log_path_;

  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (interrupted()) break;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r <= 0) break;
    line.append(buf, r);
    // Done once the status line ("ready ..." / "error ...") is complete.
    size_t status_at =
        line.rfind("\nready ") != std::string::npos ? line.rfind("\nready ") : line.rfind("\nerror ");
    if (status_at != std::string::npos && line.find('\n', status_at + 1) != std::string::npos) break;
  }
  ::close(fd);

  // "pid N\n" comes first, then the status line.
  pid_t pid = -1;
  if (line.rfind("pid ", 0) == 0) {
    size_t nl = line.find('\n');
    pid = static_cast<pid_t>(std::atol(line.substr(4, nl).c_str()));
    line = nl == std::string::npos ? "" : line.substr(nl + 1);
  }
  auto reap = [&] {
    if (pid <= 0) return;
    // The supervisor cleans up on SIGTERM; SIGKILL if it does not.
    kill(pid, SIGTERM);
    if (!wait_exit(pid, std::chrono::seconds(5))) kill(pid, SIGKILL);
  };

  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.rfind("ready ", 0) == 0) return nlohmann::json::parse(line.substr(6), nullptr, false);
  if (line.rfind("error ", 0) == 0) {
    // It exits on its own after reporting; give it a moment to finish cleaning.
    if (pid > 0) wait_exit(pid, std::chrono::seconds(5));
    auto e = nlohmann::json::parse(line.substr(6), nullptr, false);
    if (e.is_object())
      throw Error(kind_from_name(e.value("kind", "internal")), e.value("message", "the VM failed to start"),
                  e.value("hint", ""));
  }
  reap();
  check_interrupted();
  std::string tail = log_tail(log_path);
  if (timed_out)
    fail(ErrorKind::io,
         "the VM supervisor did not report within " + std::to_string(timeout.count()) + " s" +
             (tail.empty() ? "" : ":\n" + tail),
         "see " + log_path);
  fail(ErrorKind::internal, "the VM supervisor exited without a status" + (tail.empty() ? "" : ":\n" + tail),
       "see " + log_path);
}

}  // namespace banger::supervisor
