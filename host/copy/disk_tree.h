// A TreeSink that writes an untrusted tree (a guest's) to a host directory.
// Everything is made inside a fresh staging directory beside the target, so
// a stream that fails halfway leaves nothing; finish() then moves it into
// place (merging into an existing directory, after checking that no entry
// would replace a directory with a non-directory or the reverse).
//
// What the stream decides is bytes, names below the target, permission bits
// (rwx only, under the umask: never setuid, setgid or sticky), mtimes and
// symlink targets. Never ownership (files belong to the calling user, as
// with docker cp), and never where anything lands: each entry's parent is
// walked from the staging root with O_NOFOLLOW, so an entry below a symlink
// or a file is refused, and a name is made only once (O_EXCL), so no entry
// can write through or replace one made earlier.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "host/copy/tree.h"

namespace banger::copy {

class DiskTree : public TreeSink {
 public:
  // `place(root_is_dir)` says where the root lands once its type is known
  // (copy_target's rules). `src` words errors as in TarSource.
  DiskTree(std::function<std::string(bool root_is_dir)> place, std::string what, std::string sender,
           std::string hint);
  ~DiskTree() override;
  DiskTree(const DiskTree&) = delete;
  DiskTree& operator=(const DiskTree&) = delete;

  void add(const TreeEntry& e) override;
  void write(std::string_view data) override;
  void finish() override;
  // Where the root landed (empty before the first entry).
  const std::string& target() const { return target_; }

 private:
  [[noreturn]] void bad(const std::string& problem) const;
  void begin_root(const TreeEntry& e);
  int open_parent(const std::string& rel, std::string& base) const;
  void end_file();
  void publish_merged();

  std::function<std::string(bool)> place_;
  std::string what_, sender_, hint_;
  std::string target_, staging_;
  int stage_fd_ = -1;  // the staging directory
  int file_fd_ = -1;   // the file being written
  TreeEntry file_;     // its entry
  uint64_t left_ = 0;  // its bytes still to come
  bool root_dir_ = false, merge_ = false, finished_ = false;
  unsigned umask_ = 022;
  std::vector<std::string> made_parents_;
  std::vector<TreeEntry> dirs_;  // their modes and mtimes are set last
};

}  // namespace banger::copy
