// The workspace disk (host/workspace): found by its virtio-blk serial, not
// by its name (disks may probe in any order), and mounted where the kernel
// command line says. Without one, nothing happens. A disk the host wrote
// while the VM booted is mounted later, by the --mount-workspace tool.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
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

// Mounts `dev` at `path`; returns what failed, or "".
std::string mount_now(const std::string& dev, const std::string& path, bool flush) {
  if (flush) {
    // What the kernel read of the disk while it was being written (the
    // partition scan at probe) must not stand in for what is there now.
    int fd = open(dev.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ioctl(fd, BLKFLSBUF, 0) != 0) {
      std::string err = "flushing " + dev + ": " + strerror(errno);
      if (fd >= 0) close(fd);
      return err;
    }
    close(fd);
  }
  make_dirs(path);
  if (mount(dev.c_str(), path.c_str(), "ext4", MS_NODEV, nullptr) != 0)
    return "mounting " + dev + " on " + path + ": " + strerror(errno);
  return "";
}

}  // namespace

void mount_workspace(const Cmdline& c) {
  std::string path = cmdline_get(c, proto::kArgWorkspace);
  if (path.empty() || c.count(proto::kArgWorkspaceLater) || is_mountpoint(path)) return;
  std::string dev = workspace_device();
  if (dev.empty()) {
    log("workspace: no disk with serial %s", proto::kWorkspaceSerial);
    return;
  }
  std::string err = mount_now(dev, path, false);
  if (!err.empty()) log("workspace: %s", err.c_str());
  trace("workspace mounted");
}

int tool_mount_workspace() {
  Cmdline c = read_cmdline();
  std::string path = cmdline_get(c, proto::kArgWorkspace);
  if (path.empty()) {
    fprintf(stderr, "this VM has no workspace\n");
    return 1;
  }
  if (is_mountpoint(path)) return 0;
  std::string dev = workspace_device();
  if (dev.empty()) {
    fprintf(stderr, "no disk with serial %s\n", proto::kWorkspaceSerial);
    return 1;
  }
  std::string err = mount_now(dev, path, true);
  if (!err.empty()) {
    fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  return 0;
}

}  // namespace banger::agent
