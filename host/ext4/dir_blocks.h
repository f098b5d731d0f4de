// Lays out a whole directory's blocks at once, from its final list of
// entries: a linear directory when it fits in one block, a hashed (htree,
// dir_index) one otherwise, so that a directory of 20,000 entries costs
// one sort instead of the quadratic insert-one-by-one of ext2fs_link.
#pragma once

#include <ext2fs/ext2fs.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace banger::ext4 {

struct DirEntryRef {
  std::string_view name;
  uint32_t ino = 0;
  uint8_t type = 0;  // EXT2_FT_*
};

struct DirBlocks {
  // The directory's blocks in order: `head` (the htree root and index
  // nodes; empty for a linear directory) then `leaves` (entries).
  // Checksums are not set yet.
  std::vector<char> head;
  std::vector<char> leaves;
  bool indexed = false;  // htree: the inode needs EXT2_INDEX_FL

  size_t size() const { return head.size() + leaves.size(); }
  // `len` bytes from byte `off` on are contiguous when they stay within
  // head or within leaves.
  char* at(size_t off) { return off < head.size() ? head.data() + off : leaves.data() + (off - head.size()); }
};

// `self` and `parent` fill "." and "..". With `htree` false, a directory
// that needs several blocks stays linear.
DirBlocks build_dir_blocks(ext2_filsys fs, uint32_t self, uint32_t parent, std::vector<DirEntryRef> entries,
                           bool htree);

}  // namespace banger::ext4
