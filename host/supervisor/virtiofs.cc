#include "host/supervisor/virtiofs.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/supervisor/supervisor.h"
#include "host/vm/qemu_command.h"

namespace banger::supervisor {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes `text` to /proc/self/NAME in one write (the kernel takes a map
// whole). Async-signal-safe: for the child between fork and exec.
int write_proc_self(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return e;
}

}  // namespace

void check_can_mount() {
  if (geteuid() != 0)
    fail(ErrorKind::unsupported, "--mount needs root: virtiofsd, which serves the mount, runs as root",
         "run banger as root, or copy the files in with --workspace DIR");
  if (::access(kVirtiofsd, X_OK) != 0)
    fail(ErrorKind::not_found, std::string("--mount needs virtiofsd: ") + kVirtiofsd + " is missing",
         "apt-get install qemu-system-common");
}

std::vector<Process> start_virtiofs(const vm::Spec& spec) {
  std::vector<Process> out;
  if (spec.mounts.empty()) return out;
  check_can_mount();
  // The guest's root acts on HOST as HOST's owner, never as root: what a
  // hostile guest creates belongs to that user, so it cannot leave a
  // root-owned (or setuid-root) file behind. A root-owned HOST is served
  // only read-only (as root: nothing is written). Checked for every mount
  // before any virtiofsd starts.
  std::vector<struct stat> owners(spec.mounts.size());
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const vm::Mount& m = spec.mounts[i];
    if (::stat(m.host.c_str(), &owners[i]) != 0) fail_errno("mount host directory " + m.host);
    if (owners[i].st_uid == 0 && !m.read_only)
      fail(ErrorKind::unsupported,
           "--mount " + m.host + ":" + m.guest + ": " + m.host +
               " is owned by root, and the guest's writes there would be root's",
           "chown it to a user (the guest then writes as that user), or mount it read-only (" + m.host + ":" +
               m.guest + ":ro)");
  }
  const pid_t parent = getpid();
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const vm::Mount& m = spec.mounts[i];
    const std::string sock = vm::mount_socket_path(spec.state_dir, i);
    Fd listen{listen_socket(sock, "mount")};
    const std::string log_path = spec.state_dir + "/virtiofsd-" + std::to_string(i) + ".log";
    Fd log{::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    Fd null{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
    if (log.fd < 0) fail_errno("opening " + log_path);
    SpawnOptions so;
    // --rlimit-nofile=0: raising the limit needs root outside its namespace.
    so.argv = {
        kVirtiofsd,         "--fd=" + std::to_string(listen.fd), "-o", "source=" + m.host, "-o", "cache=auto",
        "--rlimit-nofile=0"};
    so.stdin_fd = null.fd;
    so.stdout_fd = log.fd;
    so.stderr_fd = log.fd;
    so.new_session = true;  // the supervisor's Ctrl-C and SIGTERM are not its
    const int sock_fd = listen.fd;
    const char* host = m.host.c_str();
    const bool ro = m.read_only;
    const uid_t uid = owners[i].st_uid;
    const gid_t gid = owners[i].st_gid;
    const bool as_root = uid == 0;
    const std::string uid_map = "0 " + std::to_string(uid) + " 1\n";
    const std::string gid_map = "0 " + std::to_string(gid) + " 1\n";
    so.in_child = [sock_fd, host, ro, parent, as_root, uid, gid, uid_map, gid_map]() -> int {
      // virtiofsd runs as HOST's owner, root only in a user namespace of its
      // own mapped to that user: what it needs of root there, none here.
      if (!as_root) {
        if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
          return errno;
        // The change from root made it undumpable, which gives /proc/self
        // to root: its maps could not be written.
        if (prctl(PR_SET_DUMPABLE, 1) != 0) return errno;
        if (unshare(CLONE_NEWUSER) != 0) return errno;
        if (int e = write_proc_self("/proc/self/setgroups", "deny")) return e;
        if (int e = write_proc_self("/proc/self/uid_map", uid_map)) return e;
        if (int e = write_proc_self("/proc/self/gid_map", gid_map)) return e;
      }
      // After the credentials changed: a change clears the death signal.
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return errno;
      if (getppid() != parent) return ESRCH;  // the supervisor died meanwhile
      if (fcntl(sock_fd, F_SETFD, 0) != 0) return errno;
      if (!ro) return 0;
      // HOST read-only in a mount namespace of its own: the kernel refuses
      // the guest's writes (EROFS), and the host's mounts are untouched.
      if (unshare(CLONE_NEWNS) != 0) return errno;
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
      if (mount(host, host, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
      if (mount(nullptr, host, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) return errno;
      return 0;
    };
    out.push_back(Process::spawn(so));
    spdlog::info("VM '{}': virtiofsd (pid {}) serves {} at {}{} as uid {}", spec.name, out.back().pid(),
                 m.host, m.guest, ro ? " (read-only)" : "", uid);
  }
  return out;
}

}  // namespace banger::supervisor
