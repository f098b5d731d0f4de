// Builds a workspace's disk: the source's files written into a fresh ext4
// image by banger's own writer (host/ext4), straight from the host files,
// with no guest round trip per file. Records each file's blob id as it is
// copied: the manifest the results are later compared against.
#pragma once

#include <cstdint>
#include <string>

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

// Writes `image` (replaced; removed again on an error). `size` 0: the default.
// Returns the work tree's manifest (.git is not in it).
Tree build_disk(const Source& source, const std::string& image, uint64_t size, DiskStats* stats);

}  // namespace banger::workspace
