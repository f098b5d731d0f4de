// The workspace disk (host/workspace): found by its virtio-blk serial, not
// by its name (disks may probe in any order), and mounted where the kernel
// command line says. Without one, nothing happens.
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <string>

#include "guest/agent.h"

namespace banger::agent {

namespace {

std::string workspace_device() {
  DIR* d = opendir("/sys/block");
  if (!d) return "";
  std::string found;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("vd", 0) != 0) continue;
    std::string serial = read_small_file("/sys/block/" + name + "/serial");
    while (!serial.empty() && (serial.back() == '\n' || serial.back() == ' ')) serial.pop_back();
    if (serial == proto::kWorkspaceSerial) {
      found = "/dev/" + name;
      break;
    }
  }
  closedir(d);
  return found;
}

void make_dirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') mkdir(path.substr(0, i).c_str(), 0755);
}

}  // namespace

void mount_workspace(const Cmdline& c) {
  std::string path = cmdline_get(c, proto::kArgWorkspace);
  if (path.empty() || is_mountpoint(path)) return;
  std::string dev = workspace_device();
  if (dev.empty()) {
    log("workspace: no disk with serial %s", proto::kWorkspaceSerial);
    return;
  }
  make_dirs(path);
  if (mount(dev.c_str(), path.c_str(), "ext4", MS_NODEV, nullptr) != 0)
    log("workspace: mounting %s on %s: %s", dev.c_str(), path.c_str(), strerror(errno));
  trace("workspace mounted");
}

}  // namespace banger::agent
