// banger-agent: the guest side of banger, one static binary with three modes,
// chosen by how it was started:
//   1. PID 1 on the initramfs (/init): load modules, mount the root disk,
//      switch into it and exec the agent there (stage1.cc);
//   2. PID 1 in the root filesystem (the default): mounts, hostname, network,
//      reaping, clean poweroff (system.cc), and serve the channel;
//   3. any other PID (a service under the image's own init, or --service):
//      just serve the channel.
#include <fcntl.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "guest/agent.h"
#include "guest/tree.h"

namespace {

bool root_is_initramfs() {
  struct statfs s {};
  if (statfs("/", &s) != 0) return false;
  constexpr long kRamfs = 0x858458f6, kTmpfs = 0x01021994;
  return s.f_type == kRamfs || s.f_type == kTmpfs;
}

// When the first init started: stage 1 passes it on; otherwise PID 1's start
// time from /proc/1/stat (clock ticks since boot).
uint64_t init_uptime_ms() {
  if (const char* v = getenv(banger::agent::kInitUptimeEnv)) return strtoull(v, nullptr, 10);
  std::string stat = banger::agent::read_small_file("/proc/1/stat");
  size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    auto f = banger::agent::split(stat.substr(close + 2), ' ');
    if (f.size() > 19) return strtoull(f[19].c_str(), nullptr, 10) * 1000 / sysconf(_SC_CLK_TCK);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace banger::agent;
  // The tools the host runs as commands (proto/boot.h).
  if (argc == 2 && !strcmp(argv[1], banger::proto::kToolMountWorkspace)) return tool_mount_workspace();
  if (argc == 3) {
    if (!strcmp(argv[1], banger::proto::kToolStat)) return tool_stat(argv[2]);
    if (!strcmp(argv[1], banger::proto::kToolTarCreate)) return tool_tar_create(argv[2]);
    if (!strcmp(argv[1], banger::proto::kToolTarExtract)) return tool_tar_extract(argv[2]);
  }
  bool force_service = false;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--version")) {
      printf("banger-agent %s\n", kVersion);
      return 0;
    }
    if (!strcmp(argv[i], "--service")) force_service = true;
  }
  bool pid1 = getpid() == 1 && !force_service;
  if (pid1 && root_is_initramfs()) run_stage1();

  BootInfo boot;
  if (pid1) {
    uint64_t start = uptime_ms();
    Cmdline c = read_cmdline();
    g_trace = c.count(banger::proto::kArgDebug) > 0;
    trace("pid 1 start");
    setup_system(c);
    mount_workspace(c);
    mount_shares(c);
    trace("system set up");
    boot.init_uptime_ms = getenv(kInitUptimeEnv) ? init_uptime_ms() : start;
    unsetenv(kInitUptimeEnv);
    if (const char* fd = getenv(kOldRootEnv)) {
      boot.oldroot_fd = atoi(fd);
      fcntl(boot.oldroot_fd, F_SETFD, FD_CLOEXEC);
      unsetenv(kOldRootEnv);
    }
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    boot.mode = "pid1";
  } else {
    Cmdline c = read_cmdline();
    mount_workspace(c);
    mount_shares(c);
    boot.init_uptime_ms = init_uptime_ms();
    boot.mode = "service";
  }
  serve(boot);
  return 0;
}
