// PID 1 in the root filesystem: the mounts every program expects, the
// hostname, the network, and a clean shutdown.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "guest/agent.h"

namespace banger::agent {

bool is_mountpoint(const std::string& path) {
  struct stat a {
  }, b{};
  if (stat(path.c_str(), &a) != 0) return false;
  std::string parent = path + "/..";
  if (stat(parent.c_str(), &b) != 0) return false;
  return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

void mount_fs(const char* source, const char* target, const char* type, unsigned long flags, const char* data,
              int mode) {
  if (is_mountpoint(target)) return;
  mkdir(target, mode);
  if (mount(source, target, type, flags, data) != 0)
    log("mounting %s on %s: %s", type, target, strerror(errno));
}

namespace {

void dev_links() {
  const char* links[][2] = {{"/proc/self/fd", "/dev/fd"},
                            {"/proc/self/fd/0", "/dev/stdin"},
                            {"/proc/self/fd/1", "/dev/stdout"},
                            {"/proc/self/fd/2", "/dev/stderr"},
                            {"/proc/kcore", "/dev/core"}};
  for (auto& l : links) symlink(l[0], l[1]);
}

}  // namespace

namespace {
pid_t g_network_setup = -1;  // the child bringing the network up, until reaped
}  // namespace

void setup_system(const Cmdline& c) {
  const unsigned long nosuid_nodev = MS_NOSUID | MS_NODEV;
  mount_fs("proc", "/proc", "proc", nosuid_nodev | MS_NOEXEC, nullptr, 0555);
  mount_fs("sysfs", "/sys", "sysfs", nosuid_nodev | MS_NOEXEC, nullptr, 0555);
  mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666");
  mount_fs("tmpfs", "/dev/shm", "tmpfs", nosuid_nodev, "mode=1777", 01777);
  mount_fs("tmpfs", "/run", "tmpfs", nosuid_nodev, "mode=0755");
  mount_fs("tmpfs", "/tmp", "tmpfs", nosuid_nodev, "mode=1777", 01777);
  dev_links();
  mkdir("/run/lock", 01777);
  // Stdio on the console if the kernel or stage 1 left none.
  if (fcntl(2, F_GETFD) < 0) {
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd >= 0)
      for (int i = 0; i < 3; ++i)
        if (fd != i) dup2(fd, i);
  }
  trace("mounted");
  std::string host = cmdline_get(c, proto::kArgHostname, "banger");
  if (sethostname(host.data(), host.size()) != 0) log("sethostname: %s", strerror(errno));
  // OCI images often lack /etc/hosts (a container runtime would bind one).
  struct stat st {};
  if (lstat("/etc/hosts", &st) != 0 && errno == ENOENT) {
    std::string hosts =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + host + "\n";
    int fd = open("/etc/hosts", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!write(fd, hosts.data(), hosts.size());
      close(fd);
    }
  }
  // The NIC comes up (~30 ms under TCG) in a child while the agent opens its
  // channel and reports ready; commands wait for it (wait_for_network).
  pid_t net = fork();
  if (net == 0) {
    setup_network(c);
    _exit(0);
  }
  if (net < 0) setup_network(c);
  else g_network_setup = net;
}

void network_setup_reaped(pid_t pid) {
  if (pid == g_network_setup) g_network_setup = -1;
}

void wait_for_network() {
  if (g_network_setup <= 0) return;
  waitpid(g_network_setup, nullptr, 0);
  g_network_setup = -1;
}

namespace {

// Reaps until no child is left or `ms` passed; true if none is left.
bool reap_all(int ms) {
  uint64_t deadline = uptime_ms() + ms;
  while (true) {
    pid_t p = waitpid(-1, nullptr, WNOHANG);
    if (p < 0 && errno == ECHILD) return true;
    if (p > 0) continue;
    if (uptime_ms() > deadline) return false;
    usleep(10000);
  }
}

void unmount_all() {
  std::string mounts = read_small_file("/proc/mounts");
  std::vector<std::string> points;
  for (const auto& line : split(mounts, '\n')) {
    auto f = split(line, ' ');
    if (f.size() > 2) points.push_back(f[1]);
  }
  std::reverse(points.begin(), points.end());
  for (const auto& p : points) {
    if (p == "/") continue;
    if (umount2(p.c_str(), 0) != 0) umount2(p.c_str(), MNT_DETACH);
  }
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0)
    log("remounting / read-only: %s", strerror(errno));
}

}  // namespace

void shutdown_system(bool reboot_instead, bool pid1) {
  if (pid1) {
    kill(-1, SIGTERM);
    if (!reap_all(2000)) {
      kill(-1, SIGKILL);
      reap_all(1000);
    }
    sync();
    unmount_all();
  }
  sync();
  reboot(reboot_instead ? RB_AUTOBOOT : RB_POWER_OFF);
  // Power off unsupported: a reboot ends the VM too (QEMU runs with -no-reboot).
  reboot(RB_AUTOBOOT);
  log("reboot: %s", strerror(errno));
  if (!pid1) _exit(1);
  while (true) pause();
}

void prefetch_command_basics() {
  // Every dynamically linked command starts with the loader and the C
  // library: read them (and the shell) into the page cache now, while the
  // host is still on its way with the first request (~60 ms of a first
  // command's start under TCG is these reads). Paths that an image does not
  // have are skipped.
  for (const char* f : {"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6",
                        "/lib/ld-musl-x86_64.so.1", "/bin/sh"}) {
    int fd = open(f, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    readahead(fd, 0, 8 << 20);
    close(fd);
  }
}

}  // namespace banger::agent
