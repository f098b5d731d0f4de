#include "host/ext4/mkfs.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "host/core/error.h"
#include "host/ext4/fs_util.h"

namespace banger::ext4 {

ext2_filsys make_filesystem(const std::string& path, const WriterOptions& opt, int* fd_out,
                            ext2_filsys* fs_out) {
  const uint32_t bs = 4096;
  check_image_size(opt.size);
  uint64_t blocks = opt.size / bs;
  int fd = opt.in_place ? ::open(path.c_str(), O_RDWR | O_CLOEXEC)
                        : ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(opt.in_place ? "opening " + path : "creating " + path);
  *fd_out = fd;  // the caller owns it (and fs) from here on, also on errors
  struct stat st {};
  if (opt.in_place && (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != blocks * bs))
    fail(ErrorKind::internal,
         path + " is not " + std::to_string(blocks * bs) + " bytes long to be written in place");
  if (!opt.in_place && ftruncate(fd, static_cast<off_t>(blocks * bs)) != 0) fail_errno("sizing " + path);

  ext2_super_block param{};
  ext2fs_blocks_count_set(&param, blocks);
  param.s_log_block_size = 2;
  param.s_log_cluster_size = 2;
  param.s_rev_level = EXT2_DYNAMIC_REV;
  param.s_inode_size = 256;
  uint64_t inodes = std::max<uint64_t>(blocks * bs / std::max<uint32_t>(opt.bytes_per_inode, 1024), 4096);
  param.s_inodes_count = static_cast<__u32>(std::min<uint64_t>(inodes, 0xffffffffu - 1));
  param.s_log_groups_per_flex = 4;
  param.s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
  param.s_min_extra_isize = param.s_want_extra_isize = 32;
  ext2fs_set_feature_dir_index(&param);
  ext2fs_set_feature_xattr(&param);
  ext2fs_set_feature_filetype(&param);
  ext2fs_set_feature_extents(&param);
  ext2fs_set_feature_flex_bg(&param);
  ext2fs_set_feature_64bit(&param);
  ext2fs_set_feature_sparse_super(&param);
  ext2fs_set_feature_large_file(&param);
  ext2fs_set_feature_huge_file(&param);
  ext2fs_set_feature_dir_nlink(&param);
  ext2fs_set_feature_extra_isize(&param);
  if (opt.metadata_csum) {
    ext2fs_set_feature_metadata_csum(&param);
  } else {
    ext2fs_set_feature_gdt_csum(&param);
  }
  ext2_filsys fs = nullptr;
  check(ext2fs_initialize(path.c_str(), EXT2_FLAG_64BITS, &param, unix_io_manager, &fs),
        "creating the filesystem in " + path);
  *fs_out = fs;

  ext2_super_block* sb = fs->super;
  if (opt.uuid) {
    std::memcpy(sb->s_uuid, opt.uuid->data(), 16);
    // The hash seed follows the UUID so that fixed input gives fixed bytes.
    for (int i = 0; i < 16; ++i) reinterpret_cast<uint8_t*>(sb->s_hash_seed)[i] = (*opt.uuid)[15 - i] ^ 0x5a;
  } else {
    if (getrandom(sb->s_uuid, 16, 0) != 16 || getrandom(sb->s_hash_seed, 16, 0) != 16) {
      fail_errno("getrandom");
    }
    sb->s_uuid[6] = (sb->s_uuid[6] & 0x0f) | 0x40;  // version 4
    sb->s_uuid[8] = (sb->s_uuid[8] & 0x3f) | 0x80;
  }
  sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
  sb->s_flags |= (static_cast<char>(-1) < 0) ? EXT2_FLAGS_SIGNED_HASH : EXT2_FLAGS_UNSIGNED_HASH;
  if (opt.metadata_csum) {
    sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
    ext2fs_init_csum_seed(fs);
  }
  sb->s_max_mnt_count = -1;
  sb->s_mkfs_time = sb->s_wtime = sb->s_lastcheck = static_cast<__u32>(opt.timestamp.sec);
  std::strncpy(reinterpret_cast<char*>(sb->s_volume_name), opt.label.c_str(), sizeof(sb->s_volume_name));
  check(ext2fs_allocate_tables(fs), "laying out " + path);
  // The file is new and sparse: its inode tables read as zeros already, so
  // the kernel need not zero them on first mount.
  for (dgrp_t g = 0; g < fs->group_desc_count; ++g) {
    ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
    ext2fs_group_desc_csum_set(fs, g);
  }
  // Reserved inodes, as mke2fs does: bad blocks (1), root (2), 3..10.
  for (ext2_ino_t i = 1; i < EXT2_FIRST_INODE(sb); ++i) {
    ext2fs_inode_alloc_stats2(fs, i, +1, i == EXT2_ROOT_INO);
  }
  check(ext2fs_update_bb_inode(fs, nullptr), "writing the bad blocks inode");
  {
    ext2_inode_large inode;
    read_inode(fs, EXT2_BAD_INO, inode);
    inode.i_extra_isize = 32;
    set_times(inode, opt.timestamp, opt.timestamp, opt.timestamp);
    write_inode(fs, EXT2_BAD_INO, inode);
  }
  return fs;
}

// Adds a journal sized the way mke2fs sizes it (lazily initialised: the
// image is new and sparse, its blocks read as zeros).
void add_journal_inode(ext2_filsys fs, const Timespec& t, const std::string& path) {
  ext2fs_journal_params jp{};
  if (ext2fs_get_journal_params(&jp, fs) != 0 || jp.num_journal_blocks <= 0) return;
  if (ext2fs_free_blocks_count(fs->super) <
      static_cast<uint64_t>(jp.num_journal_blocks) + jp.num_fc_blocks + 16) {
    fail(ErrorKind::io, "image full: writing the journal: needs a larger --size",
         "the entries fit but the journal (" +
             std::to_string(static_cast<uint64_t>(jp.num_journal_blocks) * fs->blocksize / kMiB) +
             " MiB) does not; give a larger size");
  }
  check(ext2fs_add_journal_inode3(fs, &jp, ~0ULL, EXT2_MKJOURNAL_LAZYINIT | EXT2_MKJOURNAL_NO_MNT_CHECK),
        "adding the journal to " + path);
  ext2_inode_large inode;
  read_inode(fs, EXT2_JOURNAL_INO, inode);
  if (inode.i_extra_isize < 32) inode.i_extra_isize = 32;
  set_times(inode, t, t, t);
  write_inode(fs, EXT2_JOURNAL_INO, inode);
}

void check_image_size(uint64_t bytes) {
  if (bytes < kMinImageSize)
    fail(ErrorKind::invalid_input,
         "image size " + std::to_string(bytes) + " bytes is too small: at least 8 MiB", "give a larger size");
  if (bytes > kMaxImageSize)
    fail(ErrorKind::invalid_input,
         "image size " + std::to_string(bytes) + " bytes is too large: at most 16 TiB",
         "give a smaller size, or leave it out for the default (sized by the content)");
}

uint64_t default_image_size(uint64_t content, uint64_t inodes) {
  uint64_t want = content + content / 4;
  want = std::max(want, (inodes + inodes / 4) * kBytesPerInode);
  want += want / 32;  // inode tables: 256 bytes per 8 KiB
  int journal = ext2fs_default_journal_size(want / 4096);
  if (journal > 0) want += static_cast<uint64_t>(journal) * 4096;
  want = std::max(want, kGiB);
  return (want + kMiB - 1) / kMiB * kMiB;
}

void add_journal(const std::string& path, const Timespec& timestamp) {
  ext2_filsys fs = nullptr;
  check(ext2fs_open2(path.c_str(), nullptr, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs),
        "opening " + path);
  try {
    check(ext2fs_read_bitmaps(fs), "reading " + path);
    if (!ext2fs_has_feature_journal(fs->super)) add_journal_inode(fs, timestamp, path);
  } catch (...) {
    ext2fs_close2(fs, 0);
    throw;
  }
  check(ext2fs_close2(fs, EXT2_FLAG_FLUSH_NO_SYNC), "closing " + path);
}

}  // namespace banger::ext4
