// Live mounts (--mount): host directories served by virtiofsd, one virtiofs
// device each (tag banger-mount-N), mounted where banger.mounts= says.
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "guest/agent.h"

namespace banger::agent {

namespace {

void make_dirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') mkdir(path.substr(0, i).c_str(), 0755);
}

[[noreturn]] void fail_boot(const std::string& what) {
  log("%s; powering off", what.c_str());
  sync();
  reboot(RB_POWER_OFF);
  _exit(1);
}

}  // namespace

void mount_shares(const Cmdline& c) {
  std::string list = cmdline_get(c, proto::kArgMounts);
  if (list.empty()) return;
  for (const auto& entry : split(list, ',')) {
    // TAG:GUEST[:ro]: the host wrote it (host/vm/qemu_command.cc), and
    // neither part holds a ':'.
    auto parts = split(entry, ':');
    if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 3 && parts[2] != "ro"))
      fail_boot("mount: malformed " + std::string(proto::kArgMounts) + " entry '" + entry + "'");
    const std::string& tag = parts[0];
    const std::string& guest = parts[1];
    bool ro = parts.size() == 3;
    if (is_mountpoint(guest)) continue;  // the agent restarted as a service
    make_dirs(guest);
    unsigned long flags = MS_NODEV | (ro ? MS_RDONLY : 0);
    if (mount(tag.c_str(), guest.c_str(), "virtiofs", flags, nullptr) != 0)
      fail_boot("mount: virtiofs " + tag + " on " + guest + ": " + strerror(errno) +
                (errno == ENODEV ? " (is the virtiofs module in the initramfs?)" : ""));
    trace(("mounted " + guest).c_str());
  }
}

}  // namespace banger::agent
