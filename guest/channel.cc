// The host channel: the virtio-serial port named banger.agent. There is no
// udev in the guest, so the port is found by name in sysfs and its device
// node is made from sysfs's MAJ:MIN when devtmpfs has not made it.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guest/agent.h"

namespace banger::agent {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// The vportNpM whose name is banger.agent, or "".
std::string find_port() {
  DIR* d = opendir("/sys/class/virtio-ports");
  if (!d) return {};
  std::string found;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("vport", 0) != 0) continue;
    if (trim(read_small_file("/sys/class/virtio-ports/" + n + "/name")) == proto::kAgentPort) {
      found = n;
      break;
    }
  }
  closedir(d);
  return found;
}

int open_port(const std::string& port) {
  std::string node = "/dev/" + port;
  struct stat st {};
  if (stat(node.c_str(), &st) != 0) {
    std::string dev = trim(read_small_file("/sys/class/virtio-ports/" + port + "/dev"));
    unsigned maj = 0, min = 0;
    if (sscanf(dev.c_str(), "%u:%u", &maj, &min) != 2) return -1;
    if (mknod(node.c_str(), S_IFCHR | 0600, makedev(maj, min)) != 0 && errno != EEXIST) {
      log("mknod %s: %s", node.c_str(), strerror(errno));
      return -1;
    }
  }
  return open(node.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

}  // namespace

int open_channel(int timeout_ms) {
  uint64_t start = uptime_ms();
  bool said = false;
  while (true) {
    std::string port = find_port();
    if (!port.empty()) {
      int fd = open_port(port);
      if (fd >= 0) return fd;
      if (!said) log("opening /dev/%s: %s (retrying)", port.c_str(), strerror(errno));
      said = true;
    }
    if (timeout_ms >= 0 && uptime_ms() - start > static_cast<uint64_t>(timeout_ms)) return -1;
    if (!said && uptime_ms() - start > 5000) {
      log("waiting for the virtio-serial port %s (is virtio_console loaded?)", proto::kAgentPort);
      said = true;
    }
    usleep(10000);
  }
}

}  // namespace banger::agent
