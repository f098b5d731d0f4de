// Creating the empty filesystem the writer fills, and the journal: the
// mke2fs part of host/ext4, on libext2fs.
#pragma once

#include <ext2fs/ext2fs.h>

#include <string>

#include "host/ext4/writer.h"

namespace banger::ext4 {

// Creates `path` (truncated, sparse, opt.size rounded down to 4 KiB) with an
// empty ext4 filesystem: features, UUID and hash seed, group tables,
// reserved inodes. No root directory and no journal yet. The fd and the
// filesystem are stored in *fd_out / *fs_out as soon as they exist, so that
// the caller releases them if a later step throws.
ext2_filsys make_filesystem(const std::string& path, const WriterOptions& opt, int* fd_out,
                            ext2_filsys* fs_out);

// Adds a journal sized the way mke2fs sizes it, lazily initialised (the
// image is new and sparse: its blocks read as zeros).
void add_journal_inode(ext2_filsys fs, const Timespec& t, const std::string& path);

}  // namespace banger::ext4
