#include "host/kernel/bzimage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "host/core/error.h"

namespace banger::kernel {
namespace {

constexpr size_t kHeaderBytes = 0x10000;  // the setup code, which holds the version string

uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }

}  // namespace

BzImageInfo inspect_bzimage(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail(ErrorKind::not_found, "kernel image not found: " + path);
    fail_errno("opening kernel image " + path);
  }
  static thread_local unsigned char buf[kHeaderBytes];
  size_t got = 0;
  while (got < kHeaderBytes) {
    ssize_t n = ::read(fd, buf + got, kHeaderBytes - got);
    if (n < 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      fail_errno("reading kernel image " + path);
    }
    if (n == 0) break;
    got += size_t(n);
  }
  struct stat st {};
  off_t size = ::fstat(fd, &st) == 0 ? st.st_size : 0;
  ::close(fd);
  const std::string hint = "pass a Linux x86-64 bzImage (such as /boot/vmlinuz-*), or pull the kernel again";
  if (got < 0x210 || std::memcmp(buf + 0x202, "HdrS", 4) != 0) {
    fail(ErrorKind::invalid_input,
         path + " is not a Linux bzImage kernel (no \"HdrS\" boot header at offset 0x202)", hint);
  }
  BzImageInfo info;
  info.protocol = le16(buf + 0x206);
  if (info.protocol < 0x0200) {
    fail(ErrorKind::invalid_input,
         path + ": boot protocol " + std::to_string(info.protocol >> 8) + "." +
             std::to_string(info.protocol & 0xff) + " is too old (2.00 or later needed)",
         hint);
  }
  size_t off = size_t(le16(buf + 0x20E)) + 0x200;
  if (le16(buf + 0x20E) != 0 && off < got) {
    size_t end = off;
    while (end < got && buf[end] != 0 && end - off < 512) end++;
    info.banner.assign(reinterpret_cast<const char*>(buf + off), end - off);
    info.version = info.banner.substr(0, info.banner.find(' '));
  }
  // A bzImage is at least its setup sectors plus a compressed payload; one cut
  // short by a failed download still has a valid header, so check the size.
  unsigned setup_sects = buf[0x1F1] ? buf[0x1F1] : 4;
  uint32_t syssize = uint32_t(buf[0x1F4]) | (uint32_t(buf[0x1F5]) << 8) | (uint32_t(buf[0x1F6]) << 16) |
                     (uint32_t(buf[0x1F7]) << 24);
  off_t expected = off_t(setup_sects + 1) * 512 + off_t(syssize) * 16;
  if (info.protocol >= 0x0204 && size < expected) {
    fail(ErrorKind::invalid_input,
         path + " is truncated: " + std::to_string(size) + " bytes, the header says " +
             std::to_string(expected),
         hint);
  }
  return info;
}

}  // namespace banger::kernel
