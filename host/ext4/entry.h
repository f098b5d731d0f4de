// What one filesystem entry is, independent of where it comes from (a tar
// header, a Lua call) and of how it is stored (the ext4 writer and editor).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace banger::ext4 {

enum class FileType : uint8_t {
  regular,
  directory,
  symlink,
  char_device,
  block_device,
  fifo,
  socket,
};

// "file", "dir", "symlink", "chardev", "blockdev", "fifo", "socket".
const char* type_name(FileType type);

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  bool operator==(const Timespec&) const = default;
};

struct Xattr {
  std::string name;   // full name: "security.capability", "user.foo"
  std::string value;  // raw bytes, as getxattr(2) returns them
  bool operator==(const Xattr&) const = default;
};

// An entry's metadata. `mode` holds the permission bits only (07777: the
// setuid, setgid and sticky bits included); the type is `type`.
struct Meta {
  FileType type = FileType::regular;
  uint32_t mode = 0644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  Timespec atime, mtime, ctime;
  uint32_t dev_major = 0;  // char/block devices
  uint32_t dev_minor = 0;
  std::vector<Xattr> xattrs;
};

}  // namespace banger::ext4
