// Small helpers shared by the ext4 writer and the image editor: libext2fs
// error codes -> banger::Error, inode field encoding (mode, owner, times,
// device numbers, extents), dirent file types.
#pragma once

#include <ext2fs/ext2fs.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/ext4/entry.h"

namespace banger::ext4 {

// The text of a libext2fs/com_err error code.
std::string ext2_error_text(errcode_t code);
// Throws Error{io} "WHAT: <error text>" when code != 0.
void check(errcode_t code, std::string_view what);

uint16_t inode_mode(FileType type, uint32_t perms);
FileType type_of_mode(uint16_t mode);
uint8_t dirent_type(FileType type);

// A contiguous run of blocks: logical block `lblk` of the file lives at
// physical block `pblk`, for `len` blocks.
struct Extent {
  uint64_t lblk = 0;
  uint64_t pblk = 0;
  uint32_t len = 0;
};
// Longest extent ext4 allows for initialised data.
constexpr uint32_t kMaxExtentLen = 32768;

// Fills a fresh large inode from `meta` (type, mode, owner, times,
// device numbers, link count 1, extra_isize). Size and blocks stay 0.
void init_inode(ext2_inode_large& inode, const Meta& meta);
void set_owner(ext2_inode_large& inode, uint32_t uid, uint32_t gid);
uint32_t get_uid(const ext2_inode_large& inode);
uint32_t get_gid(const ext2_inode_large& inode);
void set_times(ext2_inode_large& inode, const Timespec& atime, const Timespec& mtime, const Timespec& ctime);
Timespec inode_mtime(const ext2_inode_large& inode);
Timespec inode_atime(const ext2_inode_large& inode);
Timespec inode_ctime(const ext2_inode_large& inode);
void set_device(ext2_inode_large& inode, uint32_t major, uint32_t minor);
void inode_device(const ext2_inode_large& inode, uint32_t* major, uint32_t* minor);

// Writes `inode` (size, blocks and mode already set) with `extents` as its
// block map: in the inode when they fit (4), through libext2fs's extent tree
// otherwise. `inode` is updated to what was written.
void write_with_extents(ext2_filsys fs, ext2_ino_t ino, ext2_inode_large& inode,
                        const std::vector<Extent>& extents);

void read_inode(ext2_filsys fs, ext2_ino_t ino, ext2_inode_large& inode);
void write_inode(ext2_filsys fs, ext2_ino_t ino, ext2_inode_large& inode);

// Sets every xattr of `xattrs` on inode `ino` (already written).
void write_xattrs(ext2_filsys fs, ext2_ino_t ino, const std::vector<Xattr>& xattrs, std::string_view path);

}  // namespace banger::ext4
