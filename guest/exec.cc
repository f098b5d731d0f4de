#include "guest/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <vector>

#include "guest/agent.h"

namespace banger::agent {

namespace {

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name = "root";
  std::string home = "/root";
  std::string shell = "/bin/sh";
  std::vector<gid_t> groups;
};

// Resolves a name or UID[:GID] through /etc/passwd and /etc/group (the agent
// is static: no NSS).
bool resolve_user(const std::string& spec, User& u, std::string& error) {
  if (spec.empty() || spec == "root" || spec == "0") return true;
  std::string name = spec, group;
  size_t colon = spec.find(':');
  if (colon != std::string::npos) {
    name = spec.substr(0, colon);
    group = spec.substr(colon + 1);
  }
  bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
  bool found = false;
  for (const auto& line : split(read_small_file("/etc/passwd"), '\n')) {
    auto f = split(line, ':');
    if (f.size() < 7) continue;
    if ((numeric && f[2] == name) || (!numeric && f[0] == name)) {
      u.name = f[0];
      u.uid = static_cast<uid_t>(strtoul(f[2].c_str(), nullptr, 10));
      u.gid = static_cast<gid_t>(strtoul(f[3].c_str(), nullptr, 10));
      u.home = f[5].empty() ? "/" : f[5];
      u.shell = f[6].empty() ? "/bin/sh" : f[6];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!numeric) {
      error = "user " + name + " not found in /etc/passwd";
      return false;
    }
    u.uid = u.gid = static_cast<uid_t>(strtoul(name.c_str(), nullptr, 10));
    u.name = name;
    u.home = "/";
  }
  if (!group.empty()) {
    if (group.find_first_not_of("0123456789") == std::string::npos) {
      u.gid = static_cast<gid_t>(strtoul(group.c_str(), nullptr, 10));
    } else {
      bool g = false;
      for (const auto& line : split(read_small_file("/etc/group"), '\n')) {
        auto f = split(line, ':');
        if (f.size() >= 3 && f[0] == group) {
          u.gid = static_cast<gid_t>(strtoul(f[2].c_str(), nullptr, 10));
          g = true;
        }
      }
      if (!g) {
        error = "group " + group + " not found in /etc/group";
        return false;
      }
    }
  }
  u.groups.push_back(u.gid);
  for (const auto& line : split(read_small_file("/etc/group"), '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    for (const auto& m : split(f[3], ','))
      if (m == u.name) u.groups.push_back(static_cast<gid_t>(strtoul(f[2].c_str(), nullptr, 10)));
  }
  return true;
}

std::vector<std::string> make_env(const proto::Exec& req, const User& u) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=" + u.home,
      "USER=" + u.name,
      "LOGNAME=" + u.name,
      "SHELL=" + u.shell,
  };
  if (req.tty) env.push_back("TERM=xterm-256color");
  for (const auto& e : req.env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    std::string key = e.substr(0, eq + 1);
    bool replaced = false;
    for (auto& x : env)
      if (x.compare(0, key.size(), key) == 0) {
        x = e;
        replaced = true;
      }
    if (!replaced) env.push_back(e);
  }
  return env;
}

std::string env_path(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) return e.substr(5);
  return "/usr/bin:/bin";
}

// Writes "banger-agent: MSG" to the child's stderr and exits `code`.
[[noreturn]] void child_fail(int code, const std::string& msg) {
  std::string line = "banger-agent: " + msg + "\n";
  (void)!write(2, line.data(), line.size());
  _exit(code);
}

[[noreturn]] void child(const proto::Exec& req, const User& u, const std::vector<std::string>& env, int in,
                        int out, int err, int tty_slave) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  setsid();
  if (tty_slave >= 0) {
    ioctl(tty_slave, TIOCSCTTY, 0);
    in = out = err = tty_slave;
  }
  if (in < 0) in = open("/dev/null", O_RDONLY);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  for (int fd = 3; fd < 1024; ++fd) close(fd);

  if (u.uid != 0 || u.gid != 0) {
    if (setgroups(u.groups.size(), u.groups.data()) != 0 || setgid(u.gid) != 0 || setuid(u.uid) != 0)
      child_fail(126, "switching to user " + u.name + ": " + strerror(errno));
  }
  std::string cwd = req.cwd.empty() ? u.home : req.cwd;
  if (chdir(cwd.c_str()) != 0) {
    if (!req.cwd.empty()) child_fail(126, "cd " + cwd + ": " + strerror(errno));
    (void)!chdir("/");
  }
  std::vector<char*> argv, envp;
  for (const auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const std::string& cmd = req.argv[0];
  if (cmd.find('/') != std::string::npos) {
    execve(cmd.c_str(), argv.data(), envp.data());
    child_fail(errno == ENOENT ? 127 : 126, cmd + ": " + strerror(errno));
  }
  int saved = ENOENT;
  for (const auto& dir : split(env_path(env), ':')) {
    std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
    execve(full.c_str(), argv.data(), envp.data());
    if (errno != ENOENT && errno != ENOTDIR) saved = errno;
  }
  if (saved == ENOENT) child_fail(127, cmd + ": command not found");
  child_fail(126, cmd + ": " + strerror(saved));
}

}  // namespace

bool start_job(const proto::Exec& req, Job& job, std::string& error) {
  if (req.argv.empty() || req.argv[0].empty()) {
    error = "exec: empty command";
    return false;
  }
  User u;
  if (!resolve_user(req.user, u, error)) return false;
  std::vector<std::string> env = make_env(req, u);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  int master = -1, slave = -1;
  auto close_all = [&] {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1], master, slave})
      if (fd >= 0) close(fd);
  };
  if (req.tty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
      error = std::string("opening a pty: ") + strerror(errno);
      close_all();
      return false;
    }
    char name[64];
    if (ptsname_r(master, name, sizeof name) != 0 ||
        (slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
      error = std::string("opening the pty slave: ") + strerror(errno);
      close_all();
      return false;
    }
    winsize ws{};
    ws.ws_row = req.rows;
    ws.ws_col = req.cols;
    ioctl(master, TIOCSWINSZ, &ws);
  } else {
    if ((req.stdin && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(err, O_CLOEXEC) != 0) {
      error = std::string("pipe: ") + strerror(errno);
      close_all();
      return false;
    }
  }
  job.start_us = monotonic_us();
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + strerror(errno);
    close_all();
    return false;
  }
  if (pid == 0) child(req, u, env, in[0], out[1], err[1], slave);

  job.id = 0;
  job.pid = pid;
  job.tty = req.tty;
  if (req.tty) {
    close(slave);
    job.out_fd = master;
    job.in_fd = req.stdin ? fcntl(master, F_DUPFD_CLOEXEC, 3) : -1;
  } else {
    if (in[0] >= 0) close(in[0]);
    close(out[1]);
    close(err[1]);
    job.out_fd = out[0];
    job.err_fd = err[0];
    job.in_fd = in[1];
  }
  for (int fd : {job.out_fd, job.err_fd, job.in_fd})
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return true;
}

}  // namespace banger::agent
