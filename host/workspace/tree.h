// A workspace's files as banger compares them: path -> what is there. The
// same shape describes the tree that went into a VM (its manifest), the tree
// read back from the VM's disk, and a git commit's tree, so one diff serves
// all three.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace banger::workspace {

struct TreeEntry {
  bool symlink = false;  // else a regular file
  uint32_t mode = 0644;  // permission bits (0777); symlinks 0777
  uint64_t size = 0;
  std::string blob;  // the git blob id of the contents (or the link target): 40 hex digits
  uint32_t ino = 0;  // where it is on the disk it was read from (0: not read from a disk)
};

// Paths are relative ("src/main.c"), '/'-separated, sorted by std::map.
using Tree = std::map<std::string, TreeEntry>;

// The mode git records for an entry: "120000", "100755" (owner execute) or "100644".
const char* git_mode(const TreeEntry& e);

}  // namespace banger::workspace
