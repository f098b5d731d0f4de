#include "host/ext4/fs_util.h"

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext3_extents.h>

#include <cstring>
#include <mutex>

#include "host/core/error.h"

namespace banger::ext4 {

const char* type_name(FileType type) {
  switch (type) {
    case FileType::regular:
      return "file";
    case FileType::directory:
      return "dir";
    case FileType::symlink:
      return "symlink";
    case FileType::char_device:
      return "chardev";
    case FileType::block_device:
      return "blockdev";
    case FileType::fifo:
      return "fifo";
    case FileType::socket:
      return "socket";
  }
  return "unknown";
}

std::string ext2_error_text(errcode_t code) {
  static std::once_flag once;
  std::call_once(once, [] { add_error_table(&et_ext2_error_table); });
  return error_message(code);
}

void check(errcode_t code, std::string_view what) {
  if (code == 0) return;
  fail(ErrorKind::io, std::string(what) + ": " + ext2_error_text(code));
}

uint16_t inode_mode(FileType type, uint32_t perms) {
  uint16_t fmt = 0;
  switch (type) {
    case FileType::regular:
      fmt = LINUX_S_IFREG;
      break;
    case FileType::directory:
      fmt = LINUX_S_IFDIR;
      break;
    case FileType::symlink:
      fmt = LINUX_S_IFLNK;
      break;
    case FileType::char_device:
      fmt = LINUX_S_IFCHR;
      break;
    case FileType::block_device:
      fmt = LINUX_S_IFBLK;
      break;
    case FileType::fifo:
      fmt = LINUX_S_IFIFO;
      break;
    case FileType::socket:
      fmt = LINUX_S_IFSOCK;
      break;
  }
  return static_cast<uint16_t>(fmt | (perms & 07777));
}

FileType type_of_mode(uint16_t mode) {
  if (LINUX_S_ISDIR(mode)) return FileType::directory;
  if (LINUX_S_ISLNK(mode)) return FileType::symlink;
  if (LINUX_S_ISCHR(mode)) return FileType::char_device;
  if (LINUX_S_ISBLK(mode)) return FileType::block_device;
  if (LINUX_S_ISFIFO(mode)) return FileType::fifo;
  if (LINUX_S_ISSOCK(mode)) return FileType::socket;
  return FileType::regular;
}

uint8_t dirent_type(FileType type) {
  switch (type) {
    case FileType::regular:
      return EXT2_FT_REG_FILE;
    case FileType::directory:
      return EXT2_FT_DIR;
    case FileType::symlink:
      return EXT2_FT_SYMLINK;
    case FileType::char_device:
      return EXT2_FT_CHRDEV;
    case FileType::block_device:
      return EXT2_FT_BLKDEV;
    case FileType::fifo:
      return EXT2_FT_FIFO;
    case FileType::socket:
      return EXT2_FT_SOCK;
  }
  return EXT2_FT_UNKNOWN;
}

void set_owner(ext2_inode_large& inode, uint32_t uid, uint32_t gid) {
  inode.i_uid = static_cast<uint16_t>(uid);
  inode.osd2.linux2.l_i_uid_high = static_cast<uint16_t>(uid >> 16);
  inode.i_gid = static_cast<uint16_t>(gid);
  inode.osd2.linux2.l_i_gid_high = static_cast<uint16_t>(gid >> 16);
}

uint32_t get_uid(const ext2_inode_large& inode) {
  return inode.i_uid | (static_cast<uint32_t>(inode.osd2.linux2.l_i_uid_high) << 16);
}
uint32_t get_gid(const ext2_inode_large& inode) {
  return inode.i_gid | (static_cast<uint32_t>(inode.osd2.linux2.l_i_gid_high) << 16);
}

namespace {
// ext4 stores seconds as 32 low bits plus 2 epoch bits in the `_extra`
// field, whose upper 30 bits are the nanoseconds.
void encode_time(const Timespec& t, __u32* base, __u32* extra) {
  *base = static_cast<__u32>(static_cast<uint64_t>(t.sec) & 0xffffffffu);
  uint32_t epoch = static_cast<uint32_t>((t.sec - static_cast<int32_t>(*base)) >> 32) & 3;
  *extra = epoch | ((t.nsec & 0x3fffffffu) << 2);
}
Timespec decode_time(__u32 base, __u32 extra) {
  int64_t sec = static_cast<int32_t>(base);
  sec += static_cast<int64_t>(extra & 3) << 32;
  return Timespec{sec, extra >> 2};
}
}  // namespace

void set_times(ext2_inode_large& inode, const Timespec& atime, const Timespec& mtime, const Timespec& ctime) {
  encode_time(atime, &inode.i_atime, &inode.i_atime_extra);
  encode_time(mtime, &inode.i_mtime, &inode.i_mtime_extra);
  encode_time(ctime, &inode.i_ctime, &inode.i_ctime_extra);
  encode_time(mtime, &inode.i_crtime, &inode.i_crtime_extra);
}

Timespec inode_mtime(const ext2_inode_large& inode) {
  return decode_time(inode.i_mtime, inode.i_extra_isize >= 24 ? inode.i_mtime_extra : 0);
}
Timespec inode_atime(const ext2_inode_large& inode) {
  return decode_time(inode.i_atime, inode.i_extra_isize >= 24 ? inode.i_atime_extra : 0);
}
Timespec inode_ctime(const ext2_inode_large& inode) {
  return decode_time(inode.i_ctime, inode.i_extra_isize >= 24 ? inode.i_ctime_extra : 0);
}

void set_device(ext2_inode_large& inode, uint32_t major, uint32_t minor) {
  // The kernel's old_encode_dev when both fit in a byte, new_encode_dev
  // otherwise (fs/ext4/inode.c).
  if (major < 256 && minor < 256) {
    inode.i_block[0] = major * 256 + minor;
    inode.i_block[1] = 0;
  } else {
    inode.i_block[0] = 0;
    inode.i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
  }
}

void inode_device(const ext2_inode_large& inode, uint32_t* major, uint32_t* minor) {
  if (inode.i_block[0]) {
    *major = (inode.i_block[0] >> 8) & 0xff;
    *minor = inode.i_block[0] & 0xff;
  } else {
    uint32_t d = inode.i_block[1];
    *major = (d & 0xfff00) >> 8;
    *minor = (d & 0xff) | ((d >> 12) & 0xfff00);
  }
}

void init_inode(ext2_inode_large& inode, const Meta& meta) {
  std::memset(&inode, 0, sizeof(inode));
  inode.i_mode = inode_mode(meta.type, meta.mode);
  set_owner(inode, meta.uid, meta.gid);
  inode.i_links_count = 1;
  inode.i_extra_isize = sizeof(ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
  set_times(inode, meta.atime, meta.mtime, meta.ctime);
  if (meta.type == FileType::char_device || meta.type == FileType::block_device) {
    set_device(inode, meta.dev_major, meta.dev_minor);
  }
}

void read_inode(ext2_filsys fs, ext2_ino_t ino, ext2_inode_large& inode) {
  std::memset(&inode, 0, sizeof(inode));
  check(ext2fs_read_inode_full(fs, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof(inode)),
        "reading inode " + std::to_string(ino));
}

void write_inode(ext2_filsys fs, ext2_ino_t ino, ext2_inode_large& inode) {
  check(ext2fs_write_inode_full(fs, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof(inode)),
        "writing inode " + std::to_string(ino));
}

void write_with_extents(ext2_filsys fs, ext2_ino_t ino, ext2_inode_large& inode,
                        const std::vector<Extent>& extents) {
  inode.i_flags |= EXT4_EXTENTS_FL;
  std::memset(inode.i_block, 0, sizeof(inode.i_block));
  auto* eh = reinterpret_cast<ext3_extent_header*>(inode.i_block);
  eh->eh_magic = EXT3_EXT_MAGIC;
  eh->eh_max = (sizeof(inode.i_block) - sizeof(ext3_extent_header)) / sizeof(ext3_extent);
  eh->eh_depth = 0;
  if (extents.size() <= eh->eh_max) {
    auto* ex = reinterpret_cast<ext3_extent*>(eh + 1);
    for (size_t i = 0; i < extents.size(); ++i) {
      ex[i].ee_block = static_cast<__u32>(extents[i].lblk);
      ex[i].ee_len = static_cast<__u16>(extents[i].len);
      ex[i].ee_start = static_cast<__u32>(extents[i].pblk & 0xffffffffu);
      ex[i].ee_start_hi = static_cast<__u16>(extents[i].pblk >> 32);
    }
    eh->eh_entries = static_cast<__u16>(extents.size());
    write_inode(fs, ino, inode);
    return;
  }
  // More than the inode holds: let libext2fs grow the tree (it allocates
  // the index blocks and accounts them in i_blocks).
  write_inode(fs, ino, inode);
  ext2_extent_handle_t handle = nullptr;
  check(ext2fs_extent_open2(fs, ino, reinterpret_cast<ext2_inode*>(&inode), &handle),
        "opening the extent tree of inode " + std::to_string(ino));
  errcode_t err = 0;
  for (size_t i = 0; i < extents.size() && !err; ++i) {
    ext2fs_extent e{};
    e.e_pblk = extents[i].pblk;
    e.e_lblk = extents[i].lblk;
    e.e_len = extents[i].len;
    err = ext2fs_extent_insert(handle, i ? EXT2_EXTENT_INSERT_AFTER : 0, &e);
    if (!err) err = ext2fs_extent_fix_parents(handle);
  }
  ext2fs_extent_free(handle);
  check(err, "mapping the blocks of inode " + std::to_string(ino));
  read_inode(fs, ino, inode);
}

void write_xattrs(ext2_filsys fs, ext2_ino_t ino, const std::vector<Xattr>& xattrs, std::string_view path) {
  if (xattrs.empty()) return;
  ext2_xattr_handle* h = nullptr;
  std::string what = "setting xattrs on " + std::string(path);
  check(ext2fs_xattrs_open(fs, ino, &h), what);
  errcode_t err = ext2fs_xattrs_read(h);
  for (size_t i = 0; i < xattrs.size() && !err; ++i) {
    err = ext2fs_xattr_set(h, xattrs[i].name.c_str(), xattrs[i].value.data(), xattrs[i].value.size());
    if (err) what += " (" + xattrs[i].name + ")";
  }
  if (!err) err = ext2fs_xattrs_write(h);
  ext2fs_xattrs_close(&h);
  check(err, what);
}

}  // namespace banger::ext4
