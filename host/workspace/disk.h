// Builds a workspace's disk: the source's files written into a fresh ext4
// image by banger's own writer (host/ext4), straight from the host files,
// with no guest round trip per file. Records each file's blob id as it is
// copied: the manifest the results are later compared against.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "host/workspace/source.h"
#include "host/workspace/tree.h"

namespace banger::workspace {

struct DiskStats {
  uint64_t entries = 0;     // what went in (.git's included)
  uint64_t data_bytes = 0;  // file bytes copied
  uint64_t image_size = 0;
};

// The disk's size when none is given: room for the guest to work (builds
// write more than they read) at no cost until used, since the file is sparse.
uint64_t default_disk_size(uint64_t content_bytes, uint64_t entries);

struct DiskItem {
  std::string path;  // relative to the source
  struct stat st {};
};

// What goes on the disk, read before any byte is written: the entries (the
// work tree's first, then .git's) and the disk's size, so the file can be
// made at its final size before the data is in (a VM may open it first).
struct DiskPlan {
  std::vector<DiskItem> items;
  size_t work_items = 0;  // items[0, work_items) are the work tree's
  uint64_t size = 0;      // bytes, a whole number of 4 KiB blocks
};

// `size` 0: default_disk_size.
DiskPlan plan_disk(const Source& source, uint64_t size);

// Writes `image`, an all-zero file of plan.size bytes (written in place, never
// truncated: a VMM may have it open; removed again on an error), as `plan` says.
// Returns the work tree's manifest (.git is not in it).
Tree write_disk(const Source& source, const DiskPlan& plan, const std::string& image, DiskStats* stats);

}  // namespace banger::workspace
