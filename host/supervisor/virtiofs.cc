#include "host/supervisor/virtiofs.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
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
    so.argv = {kVirtiofsd, "--fd=" + std::to_string(listen.fd), "-o", "source=" + m.host, "-o", "cache=auto"};
    so.stdin_fd = null.fd;
    so.stdout_fd = log.fd;
    so.stderr_fd = log.fd;
    so.new_session = true;  // the supervisor's Ctrl-C and SIGTERM are not its
    const int sock_fd = listen.fd;
    const char* host = m.host.c_str();
    const bool ro = m.read_only;
    so.in_child = [sock_fd, host, ro, parent]() -> int {
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
    spdlog::info("VM '{}': virtiofsd (pid {}) serves {} at {}{}", spec.name, out.back().pid(), m.host,
                 m.guest, ro ? " (read-only)" : "");
  }
  return out;
}

}  // namespace banger::supervisor
