// Reads and edits an existing ext4 image without mounting it (libext2fs):
// list, stat, read, and write/mkdir/symlink/chmod/chown/rm.
//
// Paths are absolute inside the image ("/etc/passwd"; a relative path is
// taken from the root). Intermediate symlinks are followed, confined to the
// image (an absolute target starts again at the image root, ".." stops at
// the root); the final component is never followed: stat() describes the
// symlink itself, write() replaces a symlink instead of writing through it,
// rm() removes the link.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/ext4/entry.h"

namespace banger::ext4 {

struct DirEntry {
  std::string name;
  FileType type = FileType::regular;
  uint32_t ino = 0;
};

struct Stat {
  FileType type = FileType::regular;
  uint32_t mode = 0;  // permission bits (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint32_t nlink = 0;
  uint32_t ino = 0;
  Timespec atime, mtime, ctime;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  std::string target;  // symlinks
  std::vector<Xattr> xattrs;
};

struct Owner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

class Editor {
 public:
  // Opens `path`; `writable` for the editing calls. A missing file is a
  // not_found error, a file that is not ext4 an invalid_input error.
  static std::unique_ptr<Editor> open(const std::string& path, bool writable);
  ~Editor();
  Editor(const Editor&) = delete;
  Editor& operator=(const Editor&) = delete;

  const std::string& path() const { return path_; }
  bool writable() const { return writable_; }

  // Entries of a directory, without "." and "..", sorted by name.
  std::vector<DirEntry> ls(std::string_view dir);
  Stat stat(std::string_view path);
  bool exists(std::string_view path);
  // A regular file's contents (symlinks are not followed: an error).
  std::string read(std::string_view path);

  // The same by inode number, for walking an untrusted image without
  // resolving names it chose (host/workspace reads a guest's disk back):
  // EXT2_ROOT_INO (2) is the root. A file larger than `max_bytes` is an
  // invalid_input error before anything is read, so a hostile inode's size
  // cannot make the reader allocate without bound.
  std::vector<DirEntry> ls_at(uint32_t ino);
  Stat stat_at(uint32_t ino);
  std::string read_at(uint32_t ino, uint64_t max_bytes);
  static constexpr uint32_t kRootInode = 2;

  // Creates or replaces a regular file (a symlink or other non-directory at
  // `path` is replaced, never followed). The parent directory must exist.
  void write(std::string_view path, std::string_view data, uint32_t mode, Owner owner = {});
  // Creates a directory; with `parents`, missing parents too (0755, same
  // owner). An existing directory is an error unless `parents`.
  void mkdir(std::string_view path, uint32_t mode, Owner owner = {}, bool parents = false);
  void symlink(std::string_view path, std::string_view target, Owner owner = {});
  void chmod(std::string_view path, uint32_t mode);
  void chown(std::string_view path, Owner owner);
  // Removes a non-directory or an empty directory; `recursive` for trees.
  void rm(std::string_view path, bool recursive = false);

  // Writes everything back (writable images) and closes. Idempotent; the
  // destructor closes too but swallows errors.
  void close();

 private:
  struct Impl;
  Editor(std::unique_ptr<Impl> impl, std::string path, bool writable);
  std::unique_ptr<Impl> impl_;
  std::string path_;
  bool writable_;
};

}  // namespace banger::ext4
