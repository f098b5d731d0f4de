// The root filesystem grown to fill its disk. A VM made with `--disk` has a
// disk larger than its image's filesystem; ext4 grows online, mounted, with
// one ioctl, so no image needs a resize2fs of its own.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "guest/agent.h"

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

namespace banger::agent {

void grow_root(const std::string& device, const std::string& mountpoint) {
  uint64_t bytes = 0;
  int dev = open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (dev < 0) return;
  bool sized = ioctl(dev, BLKGETSIZE64, &bytes) == 0;
  close(dev);
  struct statvfs st {};
  if (!sized || statvfs(mountpoint.c_str(), &st) != 0 || st.f_frsize == 0) return;
  uint64_t blocks = bytes / st.f_frsize;
  // f_blocks leaves out the filesystem's own overhead, so it is below the
  // true count: a disk the image fills exactly still gets the ioctl, which
  // the kernel answers at once when there is nothing to add.
  if (blocks <= st.f_blocks) return;
  int fd = open(mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  uint64_t before = st.f_blocks;
  if (ioctl(fd, EXT4_IOC_RESIZE_FS, &blocks) != 0) {
    log("root filesystem: growing it to the disk's %llu MiB failed: %s",
        static_cast<unsigned long long>(bytes >> 20), strerror(errno));
  } else if (statvfs(mountpoint.c_str(), &st) == 0 && st.f_blocks > before) {
    log("root filesystem grown to %llu MiB at %llu ms",
        static_cast<unsigned long long>((st.f_blocks * st.f_frsize) >> 20),
        static_cast<unsigned long long>(uptime_ms()));
  }
  close(fd);
}

}  // namespace banger::agent
