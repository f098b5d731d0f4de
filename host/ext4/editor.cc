#include "host/ext4/editor.h"

#include <ext2fs/ext2fs.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <deque>

#include "host/core/error.h"
#include "host/ext4/fs_util.h"

namespace banger::ext4 {

struct Editor::Impl {
  std::string path;
  ext2_filsys fs = nullptr;
  ~Impl() {
    if (fs) ext2fs_close2(fs, 0);
  }

  [[noreturn]] void fail_at(ErrorKind kind, std::string_view p, const std::string& what,
                            std::string hint = {}) const {
    fail(kind, path + ": " + std::string(p) + ": " + what, std::move(hint));
  }
  void check_at(errcode_t err, std::string_view p, const std::string& what) const {
    if (err) fail_at(ErrorKind::io, p, what + ": " + ext2_error_text(err));
  }
  void need_rw(std::string_view p) const {
    if (!(fs->flags & EXT2_FLAG_RW)) {
      fail_at(ErrorKind::invalid_input, p, "the image is open read-only", "open it with {write = true}");
    }
  }

  ext2_inode_large inode(ext2_ino_t ino) const {
    ext2_inode_large i;
    read_inode(fs, ino, i);
    return i;
  }
  std::string read_all(ext2_ino_t ino, std::string_view p) const;
  std::vector<DirEntry> ls(ext2_ino_t ino, std::string_view p) const;
  Stat stat(ext2_ino_t ino, std::string_view p) const;
  void check_inode(uint32_t ino) const;
  std::string link_target(ext2_ino_t ino, const ext2_inode_large& i, std::string_view p) const;
  // Resolves a path; the final component is followed only with follow_last.
  // Returns 0 when the final component is missing (its parent exists).
  ext2_ino_t resolve(std::string_view p, bool follow_last, ext2_ino_t* parent, std::string* leaf) const;
  ext2_ino_t must(std::string_view p) const {
    ext2_ino_t parent = 0;
    std::string leaf;
    ext2_ino_t ino = resolve(p, false, &parent, &leaf);
    if (!ino) fail_at(ErrorKind::not_found, p, "no such file or directory");
    return ino;
  }
  // The parent directory and leaf name for creating `p`.
  ext2_ino_t parent_for_create(std::string_view p, std::string* leaf, ext2_ino_t* existing) const {
    ext2_ino_t parent = 0;
    *existing = resolve(p, false, &parent, leaf);
    if (leaf->empty()) fail_at(ErrorKind::invalid_input, p, "is the root directory");
    return parent;
  }
  void link(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, int ftype, std::string_view p);
  void unlink_entry(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, std::string_view p);
  void free_inode(ext2_ino_t ino, std::string_view p);
  void rm(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, bool recursive, std::string_view p);
  ext2_ino_t new_inode(ext2_ino_t dir, uint16_t mode, std::string_view p) {
    ext2_ino_t ino = 0;
    errcode_t err = ext2fs_new_inode(fs, dir, mode, nullptr, &ino);
    if (err == EXT2_ET_INODE_ALLOC_FAIL) {
      fail_at(ErrorKind::io, p, "no free inode left in the image", "resize the image");
    }
    check_at(err, p, "allocating an inode");
    return ino;
  }
};

namespace {

std::vector<std::string> split(std::string_view p) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t slash = p.find('/', pos);
    if (slash == std::string_view::npos) slash = p.size();
    if (slash > pos) out.emplace_back(p.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

Timespec now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

struct LsState {
  std::vector<DirEntry>* out;
};

int ls_proc(ext2_ino_t, int, ext2_dir_entry* dirent, int, int, char*, void* priv) {
  auto* st = static_cast<LsState*>(priv);
  int len = ext2fs_dirent_name_len(dirent);
  std::string name(dirent->name, static_cast<size_t>(len));
  if (name == "." || name == "..") return 0;
  FileType t = FileType::regular;
  switch (ext2fs_dirent_file_type(dirent)) {
    case EXT2_FT_DIR:
      t = FileType::directory;
      break;
    case EXT2_FT_SYMLINK:
      t = FileType::symlink;
      break;
    case EXT2_FT_CHRDEV:
      t = FileType::char_device;
      break;
    case EXT2_FT_BLKDEV:
      t = FileType::block_device;
      break;
    case EXT2_FT_FIFO:
      t = FileType::fifo;
      break;
    case EXT2_FT_SOCK:
      t = FileType::socket;
      break;
    default:
      break;
  }
  st->out->push_back(DirEntry{std::move(name), t, dirent->inode});
  return 0;
}

}  // namespace

std::string Editor::Impl::read_all(ext2_ino_t ino, std::string_view p) const {
  ext2_file_t file = nullptr;
  check_at(ext2fs_file_open(fs, ino, 0, &file), p, "opening");
  std::string out;
  out.resize(ext2fs_file_get_size(file));
  size_t done = 0;
  errcode_t err = 0;
  while (done < out.size()) {
    unsigned int got = 0;
    unsigned int want = static_cast<unsigned int>(std::min<size_t>(out.size() - done, 1u << 30));
    err = ext2fs_file_read(file, out.data() + done, want, &got);
    if (err || got == 0) break;
    done += got;
  }
  ext2fs_file_close(file);
  check_at(err, p, "reading");
  out.resize(done);
  return out;
}

std::string Editor::Impl::link_target(ext2_ino_t ino, const ext2_inode_large& i, std::string_view p) const {
  uint64_t size = EXT2_I_SIZE(&i);
  // A target is at most one block (PATH_MAX): a larger size is a corrupt or
  // hostile inode, refused before read_all sizes a buffer from it.
  if (size > 4096)
    fail_at(ErrorKind::invalid_input, p, "symlink target of " + std::to_string(size) + " bytes");
  if (ext2fs_is_fast_symlink(const_cast<ext2_inode*>(reinterpret_cast<const ext2_inode*>(&i)))) {
    return std::string(reinterpret_cast<const char*>(i.i_block), std::min<uint64_t>(size, 60));
  }
  return read_all(ino, p);
}

ext2_ino_t Editor::Impl::resolve(std::string_view p, bool follow_last, ext2_ino_t* parent,
                                 std::string* leaf) const {
  std::deque<std::string> todo;
  for (auto& c : split(p)) todo.push_back(std::move(c));
  ext2_ino_t cur = EXT2_ROOT_INO;
  *parent = EXT2_ROOT_INO;
  leaf->clear();
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == ".") {
      if (todo.empty()) *leaf = "";  // "dir/." names dir itself
      continue;
    }
    ext2_inode_large dir = inode(cur);
    if (!LINUX_S_ISDIR(dir.i_mode)) fail_at(ErrorKind::invalid_input, p, "a parent is not a directory");
    ext2_ino_t next = 0;
    if (comp == "..") {
      if (cur == EXT2_ROOT_INO) continue;  // confined: ".." of the root is the root
    }
    errcode_t err = ext2fs_lookup(fs, cur, comp.c_str(), static_cast<int>(comp.size()), nullptr, &next);
    if (err == EXT2_ET_FILE_NOT_FOUND) {
      if (!todo.empty()) fail_at(ErrorKind::not_found, p, "no such file or directory");
      *parent = cur;
      *leaf = comp;
      return 0;
    }
    check_at(err, p, "looking up " + comp);
    bool last = todo.empty();
    ext2_inode_large ni = inode(next);
    if (LINUX_S_ISLNK(ni.i_mode) && (!last || follow_last)) {
      if (++links > 40) fail_at(ErrorKind::invalid_input, p, "too many levels of symbolic links");
      std::string target = link_target(next, ni, p);
      auto parts = split(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(*it);
      if (!target.empty() && target[0] == '/') cur = EXT2_ROOT_INO;
      continue;
    }
    *parent = cur;
    *leaf = comp;
    cur = next;
  }
  return cur;
}

void Editor::Impl::link(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, int ftype,
                        std::string_view p) {
  errcode_t err = ext2fs_link(fs, dir, name.c_str(), ino, ftype);
  if (err == EXT2_ET_DIR_NO_SPACE) {
    check_at(ext2fs_expand_dir(fs, dir), p, "growing the parent directory");
    err = ext2fs_link(fs, dir, name.c_str(), ino, ftype);
  }
  check_at(err, p, "linking");
}

void Editor::Impl::free_inode(ext2_ino_t ino, std::string_view p) {
  ext2_inode_large i = inode(ino);
  bool is_dir = LINUX_S_ISDIR(i.i_mode);
  if (ext2fs_inode_has_valid_blocks2(fs, reinterpret_cast<ext2_inode*>(&i))) {
    check_at(ext2fs_punch(fs, ino, reinterpret_cast<ext2_inode*>(&i), nullptr, 0, ~0ULL), p,
             "freeing blocks");
  }
  blk64_t acl = ext2fs_file_acl_block(fs, reinterpret_cast<ext2_inode*>(&i));
  if (acl) ext2fs_block_alloc_stats2(fs, acl, -1);
  i.i_links_count = 0;
  i.i_dtime = static_cast<__u32>(now().sec);
  write_inode(fs, ino, i);
  ext2fs_inode_alloc_stats2(fs, ino, -1, is_dir);
}

void Editor::Impl::unlink_entry(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, std::string_view p) {
  check_at(ext2fs_unlink(fs, dir, name.c_str(), ino, 0), p, "unlinking");
  ext2_inode_large i = inode(ino);
  bool is_dir = LINUX_S_ISDIR(i.i_mode);
  if (is_dir) {
    ext2_inode_large d = inode(dir);
    if (d.i_links_count > 2) --d.i_links_count;
    write_inode(fs, dir, d);
    free_inode(ino, p);
    return;
  }
  if (i.i_links_count > 1) {
    --i.i_links_count;
    write_inode(fs, ino, i);
    return;
  }
  free_inode(ino, p);
}

void Editor::Impl::rm(ext2_ino_t dir, const std::string& name, ext2_ino_t ino, bool recursive,
                      std::string_view p) {
  ext2_inode_large i = inode(ino);
  if (LINUX_S_ISDIR(i.i_mode)) {
    std::vector<DirEntry> kids;
    LsState st{&kids};
    check_at(ext2fs_dir_iterate2(fs, ino, 0, nullptr, ls_proc, &st), p, "listing");
    if (!kids.empty() && !recursive) {
      fail_at(ErrorKind::conflict, p, "directory not empty", "remove it with {recursive = true}");
    }
    for (auto& k : kids) rm(ino, k.name, k.ino, true, std::string(p) + "/" + k.name);
  }
  unlink_entry(dir, name, ino, p);
}

Editor::Editor(std::unique_ptr<Impl> impl, std::string path, bool writable)
    : impl_(std::move(impl)), path_(std::move(path)), writable_(writable) {}

Editor::~Editor() = default;

std::unique_ptr<Editor> Editor::open(const std::string& path, bool writable) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    fail(ErrorKind::not_found, path + ": no such image", "check the path");
  }
  int flags = EXT2_FLAG_64BITS | (writable ? EXT2_FLAG_RW : 0);
  errcode_t err = ext2fs_open2(path.c_str(), nullptr, flags, 0, 0, unix_io_manager, &impl->fs);
  if (err) {
    impl->fs = nullptr;
    fail(ErrorKind::invalid_input, path + ": not an ext4 image: " + ext2_error_text(err));
  }
  if (writable) {
    if (ext2fs_has_feature_journal_needs_recovery(impl->fs->super)) {
      fail(ErrorKind::invalid_input, path + ": the journal needs recovery",
           "run e2fsck -fy on the image first");
    }
    check(ext2fs_read_bitmaps(impl->fs), path + ": reading bitmaps");
  }
  return std::unique_ptr<Editor>(new Editor(std::move(impl), path, writable));
}

std::vector<DirEntry> Editor::ls(std::string_view dir) {
  Impl& m = *impl_;
  ext2_ino_t parent = 0;
  std::string leaf;
  ext2_ino_t ino = m.resolve(dir, true, &parent, &leaf);
  if (!ino) m.fail_at(ErrorKind::not_found, dir, "no such file or directory");
  return m.ls(ino, dir);
}

std::vector<DirEntry> Editor::ls_at(uint32_t ino) {
  Impl& m = *impl_;
  m.check_inode(ino);
  return m.ls(ino, "inode " + std::to_string(ino));
}

Stat Editor::stat(std::string_view path) { return impl_->stat(impl_->must(path), path); }

Stat Editor::stat_at(uint32_t ino) {
  impl_->check_inode(ino);
  return impl_->stat(ino, "inode " + std::to_string(ino));
}

std::string Editor::read_at(uint32_t ino, uint64_t max_bytes) {
  Impl& m = *impl_;
  m.check_inode(ino);
  std::string p = "inode " + std::to_string(ino);
  ext2_inode_large i = m.inode(ino);
  if (!LINUX_S_ISREG(i.i_mode)) m.fail_at(ErrorKind::invalid_input, p, "not a regular file");
  if (EXT2_I_SIZE(&i) > max_bytes)
    m.fail_at(ErrorKind::invalid_input, p,
              "a file of " + std::to_string(EXT2_I_SIZE(&i)) + " bytes (the limit is " +
                  std::to_string(max_bytes) + ")");
  return m.read_all(ino, p);
}

std::vector<DirEntry> Editor::Impl::ls(ext2_ino_t ino, std::string_view p) const {
  if (!LINUX_S_ISDIR(inode(ino).i_mode)) fail_at(ErrorKind::invalid_input, p, "not a directory");
  std::vector<DirEntry> out;
  LsState st{&out};
  check_at(ext2fs_dir_iterate2(fs, ino, 0, nullptr, ls_proc, &st), p, "listing");
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

void Editor::Impl::check_inode(uint32_t ino) const {
  if (ino < 1 || ino > fs->super->s_inodes_count)
    fail(ErrorKind::invalid_input, path + ": inode " + std::to_string(ino) + " is out of range");
}

Stat Editor::Impl::stat(ext2_ino_t ino, std::string_view path) const {
  const Impl& m = *this;
  ext2_inode_large i = m.inode(ino);
  Stat s;
  s.type = type_of_mode(i.i_mode);
  s.mode = i.i_mode & 07777;
  s.uid = get_uid(i);
  s.gid = get_gid(i);
  s.size = EXT2_I_SIZE(&i);
  s.nlink = i.i_links_count;
  s.ino = ino;
  s.atime = inode_atime(i);
  s.mtime = inode_mtime(i);
  s.ctime = inode_ctime(i);
  if (s.type == FileType::char_device || s.type == FileType::block_device) {
    inode_device(i, &s.dev_major, &s.dev_minor);
  }
  if (s.type == FileType::symlink) s.target = m.link_target(ino, i, path);
  ext2_xattr_handle* h = nullptr;
  if (ext2fs_xattrs_open(m.fs, ino, &h) == 0) {
    if (ext2fs_xattrs_read(h) == 0) {
      ext2fs_xattrs_iterate(
          h,
          [](char* name, char* value, size_t len, void* data) -> int {
            static_cast<std::vector<Xattr>*>(data)->push_back(Xattr{name, std::string(value, len)});
            return 0;
          },
          &s.xattrs);
    }
    ext2fs_xattrs_close(&h);
  }
  std::sort(s.xattrs.begin(), s.xattrs.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return s;
}

bool Editor::exists(std::string_view path) {
  ext2_ino_t parent = 0;
  std::string leaf;
  try {
    return impl_->resolve(path, false, &parent, &leaf) != 0;
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found) return false;
    throw;
  }
}

std::string Editor::read(std::string_view path) {
  Impl& m = *impl_;
  ext2_ino_t ino = m.must(path);
  ext2_inode_large i = m.inode(ino);
  if (LINUX_S_ISLNK(i.i_mode)) m.fail_at(ErrorKind::invalid_input, path, "is a symlink");
  if (!LINUX_S_ISREG(i.i_mode)) m.fail_at(ErrorKind::invalid_input, path, "not a regular file");
  return m.read_all(ino, path);
}

void Editor::write(std::string_view path, std::string_view data, uint32_t mode, Owner owner) {
  Impl& m = *impl_;
  m.need_rw(path);
  std::string leaf;
  ext2_ino_t existing = 0;
  ext2_ino_t dir = m.parent_for_create(path, &leaf, &existing);
  if (existing && LINUX_S_ISDIR(m.inode(existing).i_mode)) {
    m.fail_at(ErrorKind::conflict, path, "is a directory");
  }
  // Check the room first: libext2fs running out of blocks halfway leaves
  // blocks allocated to nothing. Data blocks, extent tree blocks, and some
  // for the directory to grow.
  uint64_t blocks = (data.size() + m.fs->blocksize - 1) / m.fs->blocksize;
  uint64_t need = blocks + blocks / 300 + 4;
  if (need > ext2fs_free_blocks_count(m.fs->super)) {
    m.fail_at(ErrorKind::io, path, "image full", "resize the image (resize2fs) and retry");
  }
  if (existing) m.unlink_entry(dir, leaf, existing, path);
  ext2_ino_t ino = m.new_inode(dir, LINUX_S_IFREG, path);
  Meta meta;
  meta.type = FileType::regular;
  meta.mode = mode;
  meta.uid = owner.uid;
  meta.gid = owner.gid;
  meta.atime = meta.mtime = meta.ctime = now();
  ext2_inode_large i;
  init_inode(i, meta);
  ext2fs_inode_alloc_stats2(m.fs, ino, +1, 0);
  write_with_extents(m.fs, ino, i, {});
  m.link(dir, leaf, ino, EXT2_FT_REG_FILE, path);
  ext2_file_t file = nullptr;
  m.check_at(ext2fs_file_open(m.fs, ino, EXT2_FILE_WRITE, &file), path, "opening");
  errcode_t err = 0;
  size_t done = 0;
  while (done < data.size() && !err) {
    unsigned int wrote = 0;
    unsigned int want = static_cast<unsigned int>(std::min<size_t>(data.size() - done, 1u << 30));
    err = ext2fs_file_write(file, data.data() + done, want, &wrote);
    done += wrote;
    if (!err && wrote == 0) err = EXT2_ET_SHORT_WRITE;
  }
  if (!err) err = ext2fs_file_set_size2(file, data.size());
  errcode_t close_err = ext2fs_file_close(file);
  if (!err) err = close_err;
  if (err) {
    // No half-written file stays behind.
    try {
      m.unlink_entry(dir, leaf, ino, path);
    } catch (const Error&) {
    }
    if (err == EXT2_ET_BLOCK_ALLOC_FAIL) {
      m.fail_at(ErrorKind::io, path, "image full", "resize the image (resize2fs) and retry");
    }
    m.check_at(err, path, "writing");
  }
}

void Editor::mkdir(std::string_view path, uint32_t mode, Owner owner, bool parents) {
  Impl& m = *impl_;
  m.need_rw(path);
  if (parents) {
    auto parts = split(path);
    std::string prefix;
    for (size_t k = 0; k + 1 < parts.size(); ++k) {
      prefix += "/" + parts[k];
      ext2_ino_t parent = 0;
      std::string leaf;
      ext2_ino_t ino = m.resolve(prefix, true, &parent, &leaf);
      if (!ino) mkdir(prefix, 0755, owner, false);
    }
  }
  std::string leaf;
  ext2_ino_t existing = 0;
  ext2_ino_t dir = m.parent_for_create(path, &leaf, &existing);
  if (existing) {
    if (parents && LINUX_S_ISDIR(m.inode(existing).i_mode)) return;
    m.fail_at(ErrorKind::conflict, path, "already exists");
  }
  errcode_t err = ext2fs_mkdir(m.fs, dir, 0, leaf.c_str());
  if (err == EXT2_ET_DIR_NO_SPACE) {
    m.check_at(ext2fs_expand_dir(m.fs, dir), path, "growing the parent directory");
    err = ext2fs_mkdir(m.fs, dir, 0, leaf.c_str());
  }
  m.check_at(err, path, "creating the directory");
  ext2_ino_t ino = 0;
  m.check_at(ext2fs_lookup(m.fs, dir, leaf.c_str(), static_cast<int>(leaf.size()), nullptr, &ino), path,
             "looking up");
  ext2_inode_large i = m.inode(ino);
  i.i_mode = inode_mode(FileType::directory, mode);
  set_owner(i, owner.uid, owner.gid);
  if (i.i_extra_isize < 32) i.i_extra_isize = 32;
  Timespec t = now();
  set_times(i, t, t, t);
  write_inode(m.fs, ino, i);
}

void Editor::symlink(std::string_view path, std::string_view target, Owner owner) {
  Impl& m = *impl_;
  m.need_rw(path);
  if (target.empty() || target.size() >= m.fs->blocksize) {
    m.fail_at(ErrorKind::invalid_input, path, "symlink target must be 1 to 4095 bytes");
  }
  std::string leaf;
  ext2_ino_t existing = 0;
  ext2_ino_t dir = m.parent_for_create(path, &leaf, &existing);
  if (existing) m.fail_at(ErrorKind::conflict, path, "already exists");
  std::string t(target);
  errcode_t err = ext2fs_symlink(m.fs, dir, 0, leaf.c_str(), t.c_str());
  if (err == EXT2_ET_DIR_NO_SPACE) {
    m.check_at(ext2fs_expand_dir(m.fs, dir), path, "growing the parent directory");
    err = ext2fs_symlink(m.fs, dir, 0, leaf.c_str(), t.c_str());
  }
  m.check_at(err, path, "creating the symlink");
  chown(path, owner);
}

void Editor::chmod(std::string_view path, uint32_t mode) {
  Impl& m = *impl_;
  m.need_rw(path);
  ext2_ino_t ino = m.must(path);
  ext2_inode_large i = m.inode(ino);
  i.i_mode = static_cast<uint16_t>((i.i_mode & ~07777) | (mode & 07777));
  write_inode(m.fs, ino, i);
}

void Editor::chown(std::string_view path, Owner owner) {
  Impl& m = *impl_;
  m.need_rw(path);
  ext2_ino_t ino = m.must(path);
  ext2_inode_large i = m.inode(ino);
  set_owner(i, owner.uid, owner.gid);
  write_inode(m.fs, ino, i);
}

void Editor::rm(std::string_view path, bool recursive) {
  Impl& m = *impl_;
  m.need_rw(path);
  std::string leaf;
  ext2_ino_t existing = 0;
  ext2_ino_t dir = m.parent_for_create(path, &leaf, &existing);
  if (!existing) m.fail_at(ErrorKind::not_found, path, "no such file or directory");
  m.rm(dir, leaf, existing, recursive, path);
}

void Editor::close() {
  if (!impl_ || !impl_->fs) return;
  ext2_filsys fs = impl_->fs;
  impl_->fs = nullptr;
  check(ext2fs_close2(fs, 0), "closing " + path_);
}

}  // namespace banger::ext4
