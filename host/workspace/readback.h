// Reads a workspace disk back on the host, without mounting it and without
// the guest's help: it works for images that have no git. The disk was
// written by the guest, so it is hostile: names are checked (no "." or "..",
// no '/', no NUL, no duplicates), directories are walked by inode (never
// through a name the guest chose), a directory reached twice is a loop, and
// every count and size is bounded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/ext4/editor.h"
#include "host/workspace/tree.h"

namespace banger::workspace {

struct ReadOptions {
  // A repository: the top-level .git is the repository (read separately),
  // and a nested .git (any case) is another repository, skipped as git would.
  bool git = false;
  uint64_t max_file_bytes = 1ull << 30;
  size_t max_entries = 1000000;
  size_t max_depth = 256;
  size_t max_path = 4096;
  std::string what = "the workspace disk";  // names the disk in errors
};

struct ReadResult {
  Tree tree;
  std::vector<std::string> skipped;  // devices, fifos, sockets, nested repositories
};

ReadResult read_tree(ext4::Editor& disk, const ReadOptions& options);

// A file's bytes or a symlink's target, re-read for a result (by inode),
// checked against the blob id the tree recorded for it.
std::string read_content(ext4::Editor& disk, const std::string& path, const TreeEntry& entry,
                         const ReadOptions& options);

// `name` with anything that is not printable ASCII as \xNN, for messages.
std::string printable(const std::string& name);

}  // namespace banger::workspace
