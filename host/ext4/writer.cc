#include "host/ext4/writer.h"

#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <unordered_map>

#include "host/core/error.h"
#include "host/ext4/data_sink.h"
#include "host/ext4/dir_blocks.h"
#include "host/ext4/fs_util.h"
#include "host/ext4/mkfs.h"

namespace banger::ext4 {
namespace {

struct DirInfo;

// About 160 bytes per entry with its map slot; the name lives only in the
// parent's map, the node in the map's own allocation.
struct Node {
  Node* parent = nullptr;
  uint32_t ino = 0;
  FileType type = FileType::regular;
  uint32_t tag = 0;
  std::unique_ptr<DirInfo> dir;  // directories only
};

// A map value holding the node itself (std::map nodes never move), used
// through pointer syntax.
struct Slot {
  explicit Slot(std::unique_ptr<Node> n) : node(std::move(*n)) {}
  Node* operator->() { return &node; }
  Node& operator*() { return node; }
  Node* get() { return &node; }
  Node node;
};

struct DirInfo {
  Meta meta;
  std::map<std::string, Slot, std::less<>> children;
};

std::string show(std::string_view path) { return "/" + std::string(path); }

}  // namespace

struct Writer::Impl {
  std::string path;
  WriterOptions opt;
  ext2_filsys fs = nullptr;
  int fd = -1;
  std::unique_ptr<DataSink> sink;
  Node root;
  uint32_t tag = 0;
  blk64_t block_cursor = 0;
  ext2_ino_t inode_cursor = 1;
  std::unordered_map<uint32_t, uint32_t> links;  // inode -> link count, when > 1
  WriterStats stats;
  uint64_t free_at_start = 0;
  bool failed = false;  // sticky: after an error the image is not to be trusted

  struct OpenFile {
    std::string path;
    Meta meta;
    uint32_t ino = 0;
    uint64_t size = 0;
    uint64_t written = 0;         // the file offset reached (data and holes)
    std::vector<Extent> extents;  // sorted by lblk; holes between them
    size_t ext = 0;               // the first extent not yet behind `written`
    uint64_t blocks = 0;          // allocated
  };
  // Writes `len` bytes of `p` (nullptr: zeros, or nothing where a hole is)
  // at the open file's current offset.
  void put(const char* p, uint64_t len);
  std::optional<OpenFile> file;

  ~Impl() {
    if (fs) ext2fs_free(fs);
    if (fd >= 0) ::close(fd);
  }

  void open();
  [[noreturn]] void image_full(std::string_view what) const;
  uint32_t alloc_inode(bool is_dir, std::string_view path);
  std::vector<Extent> alloc_blocks(uint64_t count, std::string_view path);
  void free_inode(uint32_t ino, bool is_dir);
  void release(Node& n);
  Node* find(std::string_view path) const;
  Node* parent_of(std::string_view path, std::string_view* leaf, bool create);
  Node* place(std::string_view path, FileType type, bool is_dir);
  void check_idle() const {
    if (file) fail(ErrorKind::internal, "ext4 writer: " + show(file->path) + " is still open");
    if (!fs) fail(ErrorKind::internal, "ext4 writer: already finished");
  }
  void write_dir(Node& n, const std::string& path);
  // lost+found, as mkfs makes it (e2fsck wants one): made first, and again
  // at finish() if a layer removed it.
  void add_lost_found() {
    if (root.dir->children.count("lost+found")) return;
    auto lpf = std::make_unique<Node>();
    lpf->parent = &root;
    lpf->type = FileType::directory;
    lpf->ino = alloc_inode(true, "lost+found");
    lpf->dir = std::make_unique<DirInfo>();
    lpf->dir->meta = implied_dir_meta();
    lpf->dir->meta.mode = 0700;
    root.dir->children.emplace("lost+found", std::move(lpf));
  }
  Meta implied_dir_meta() const {
    Meta m;
    m.type = FileType::directory;
    m.mode = 0755;
    m.atime = m.mtime = m.ctime = opt.timestamp;
    return m;
  }
};

void Writer::Impl::open() {
  make_filesystem(path, opt, &fd, &fs);
  inode_cursor = EXT2_FIRST_INODE(fs->super);
  sink = std::make_unique<DataSink>(fd, path);
  root.ino = EXT2_ROOT_INO;
  root.type = FileType::directory;
  root.dir = std::make_unique<DirInfo>();
  root.dir->meta = implied_dir_meta();
  add_lost_found();
  free_at_start = ext2fs_free_blocks_count(fs->super);
}

void Writer::Impl::image_full(std::string_view what) const {
  fail(ErrorKind::io, "image full: writing " + show(what) + ": needs a larger --size",
       "the image is " + std::to_string(opt.size / kMiB) +
           " MiB; give a larger size (or leave it out for the default)");
}

uint32_t Writer::Impl::alloc_inode(bool is_dir, std::string_view what) {
  ext2_ino_t total = fs->super->s_inodes_count;
  ext2_ino_t ino = 0;
  for (int pass = 0;; ++pass) {
    errcode_t err = inode_cursor <= total
                        ? ext2fs_find_first_zero_inode_bitmap2(fs->inode_map, inode_cursor, total, &ino)
                        : ENOENT;
    if (!err) break;
    if (pass) {
      throw OutOfInodes(ErrorKind::io,
                        "image full: no inode left for " + show(what) + ": needs a larger --size",
                        "the image has " + std::to_string(total) + " inodes; give a larger size");
    }
    inode_cursor = EXT2_FIRST_INODE(fs->super);
  }
  ext2fs_inode_alloc_stats2(fs, ino, +1, is_dir);
  inode_cursor = ino + 1;
  return ino;
}

std::vector<Extent> Writer::Impl::alloc_blocks(uint64_t count, std::string_view what) {
  std::vector<Extent> out;
  if (!count) return out;
  if (count > ext2fs_free_blocks_count(fs->super)) image_full(what);
  // The very last block stays unused: ext2fs_punch() refuses to free an
  // extent that ends there (punch.c checks start + count >= blocks_count).
  const blk64_t last = ext2fs_blocks_count(fs->super) - 2;
  const uint64_t max_len = std::clamp<uint64_t>(opt.max_extent_len, 1, kMaxExtentLen);
  uint64_t lblk = 0;
  bool wrapped = false;
  while (count) {
    blk64_t start = 0;
    if (block_cursor > last ||
        ext2fs_find_first_zero_block_bitmap2(fs->block_map, block_cursor, last, &start)) {
      if (wrapped) image_full(what);
      wrapped = true;
      block_cursor = fs->super->s_first_data_block;
      continue;
    }
    blk64_t stop = std::min<blk64_t>(last, start + std::min(count, max_len) - 1);
    blk64_t end = 0;
    if (ext2fs_find_first_set_block_bitmap2(fs->block_map, start, stop, &end)) end = stop + 1;
    uint64_t len = end - start;
    ext2fs_block_alloc_stats_range(fs, start, static_cast<blk_t>(len), +1);
    if (!out.empty() && out.back().pblk + out.back().len == start && out.back().len + len <= max_len) {
      out.back().len += static_cast<uint32_t>(len);
    } else {
      out.push_back(Extent{lblk, start, static_cast<uint32_t>(len)});
    }
    lblk += len;
    count -= len;
    block_cursor = end;
  }
  return out;
}

void Writer::Impl::free_inode(uint32_t ino, bool is_dir) {
  ext2_inode_large inode;
  read_inode(fs, ino, inode);
  if (!is_dir) {
    if (inode.i_flags & EXT4_EXTENTS_FL) {
      check(ext2fs_punch(fs, ino, reinterpret_cast<ext2_inode*>(&inode), nullptr, 0, ~0ULL),
            "freeing the blocks of inode " + std::to_string(ino));
    }
    blk64_t acl = ext2fs_file_acl_block(fs, reinterpret_cast<ext2_inode*>(&inode));
    if (acl) ext2fs_block_alloc_stats2(fs, acl, -1);
    // Freed blocks may be reused by file data, which bypasses libext2fs's
    // block cache: nothing dirty about them may stay in it.
    check(io_channel_flush(fs->io), "flushing " + path);
  }
  std::memset(&inode, 0, sizeof(inode));
  inode.i_extra_isize = 32;
  inode.i_dtime = static_cast<__u32>(opt.timestamp.sec);
  write_inode(fs, ino, inode);
  ext2fs_inode_alloc_stats2(fs, ino, -1, is_dir);
}

void Writer::Impl::release(Node& n) {
  ++stats.removed;
  if (n.dir) {
    for (auto& [name, child] : n.dir->children) release(*child);
    free_inode(n.ino, true);
    return;
  }
  auto it = links.find(n.ino);
  if (it != links.end()) {
    if (--it->second <= 1) links.erase(it);
    return;
  }
  free_inode(n.ino, false);
}

Node* Writer::Impl::find(std::string_view p) const {
  const Node* cur = &root;
  while (!p.empty()) {
    if (!cur->dir) return nullptr;
    size_t slash = p.find('/');
    std::string_view comp = p.substr(0, slash);
    auto it = cur->dir->children.find(comp);
    if (it == cur->dir->children.end()) return nullptr;
    cur = it->second.get();
    p = slash == std::string_view::npos ? std::string_view{} : p.substr(slash + 1);
  }
  return const_cast<Node*>(cur);
}

Node* Writer::Impl::parent_of(std::string_view p, std::string_view* leaf, bool create) {
  if (p.empty()) fail(ErrorKind::invalid_input, "/: the root directory cannot be replaced");
  Node* cur = &root;
  size_t pos = 0;
  for (;;) {
    size_t slash = p.find('/', pos);
    if (slash == std::string_view::npos) {
      *leaf = p.substr(pos);
      return cur;
    }
    std::string_view comp = p.substr(pos, slash - pos);
    auto it = cur->dir->children.find(comp);
    if (it == cur->dir->children.end()) {
      if (!create) return nullptr;
      auto n = std::make_unique<Node>();
      n->parent = cur;
      n->type = FileType::directory;
      n->tag = tag;
      n->ino = alloc_inode(true, p.substr(0, slash));
      n->dir = std::make_unique<DirInfo>();
      n->dir->meta = implied_dir_meta();
      ++stats.dirs;
      ++stats.entries;
      it = cur->dir->children.emplace(std::string(comp), std::move(n)).first;
    } else if (it->second->type == FileType::symlink) {
      fail(ErrorKind::invalid_input,
           show(p) + ": parent " + show(p.substr(0, slash)) + " is a symlink; refusing to write through it",
           "the layer tries to place a file behind a symlink; it is malformed or malicious");
    } else if (!it->second->dir) {
      fail(ErrorKind::invalid_input, show(p) + ": parent " + show(p.substr(0, slash)) + " is not a directory",
           "the layer is malformed");
    }
    cur = it->second.get();
    pos = slash + 1;
  }
}

Node* Writer::Impl::place(std::string_view p, FileType type, bool is_dir) {
  check_idle();
  std::string_view leaf;
  Node* dir = parent_of(p, &leaf, true);
  auto it = dir->dir->children.find(leaf);
  if (it != dir->dir->children.end()) {
    release(*it->second);
    dir->dir->children.erase(it);
  }
  auto n = std::make_unique<Node>();
  n->parent = dir;
  n->type = type;
  n->tag = tag;
  n->ino = alloc_inode(is_dir, p);
  ++stats.entries;
  return dir->dir->children.emplace(std::string(leaf), std::move(n)).first->second.get();
}

// Like a tar writer's sticky error: once a call failed, every later call
// fails too (the in-memory tree and the image may disagree by then).
class Guard {
 public:
  explicit Guard(Writer::Impl& w) : w_(w), pending_(std::uncaught_exceptions()) {
    if (w_.failed) {
      fail(ErrorKind::internal, "ext4 writer: an earlier error left " + w_.path + " unusable");
    }
  }
  ~Guard() {
    if (std::uncaught_exceptions() > pending_) w_.failed = true;
  }

 private:
  Writer::Impl& w_;
  int pending_;
};

Writer::Writer(const std::string& path, const WriterOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->opt = options;
  impl_->open();
}

Writer::~Writer() = default;

void Writer::set_tag(uint32_t tag) { impl_->tag = tag; }

void Writer::mkdir(std::string_view path, const Meta& meta) {
  Impl& w = *impl_;
  Guard guard(w);
  w.check_idle();
  Meta m = meta;
  m.type = FileType::directory;
  if (path.empty()) {
    w.root.dir->meta = m;
    w.root.tag = w.tag;
    return;
  }
  Node* existing = w.find(path);
  if (existing && existing->dir) {
    // Make sure the path is reached through directories only.
    std::string_view leaf;
    w.parent_of(path, &leaf, false);
    existing->dir->meta = m;
    existing->tag = w.tag;
    return;
  }
  Node* n = w.place(path, FileType::directory, true);
  n->dir = std::make_unique<DirInfo>();
  n->dir->meta = m;
  ++w.stats.dirs;
}

void Writer::mknod(std::string_view path, const Meta& meta) {
  Impl& w = *impl_;
  Guard guard(w);
  if (meta.type == FileType::regular || meta.type == FileType::directory || meta.type == FileType::symlink) {
    fail(ErrorKind::internal, "ext4 writer: mknod of a " + std::string(type_name(meta.type)));
  }
  Node* n = w.place(path, meta.type, false);
  ext2_inode_large inode;
  init_inode(inode, meta);
  write_inode(w.fs, n->ino, inode);
  write_xattrs(w.fs, n->ino, meta.xattrs, show(path));
  ++w.stats.others;
}

void Writer::symlink(std::string_view path, const Meta& meta, std::string_view target) {
  Impl& w = *impl_;
  Guard guard(w);
  const uint32_t bs = w.fs->blocksize;
  if (target.empty()) {
    fail(ErrorKind::invalid_input, show(path) + ": symlink with an empty target", "the layer is malformed");
  }
  if (target.size() >= bs) {
    fail(ErrorKind::invalid_input, show(path) + ": symlink target longer than 4095 bytes",
         "the layer is malformed");
  }
  Node* n = w.place(path, FileType::symlink, false);
  Meta m = meta;
  m.type = FileType::symlink;
  m.mode = 0777;
  ext2_inode_large inode;
  init_inode(inode, m);
  check(ext2fs_inode_size_set(w.fs, reinterpret_cast<ext2_inode*>(&inode), target.size()),
        "sizing " + show(path));
  if (target.size() < sizeof(inode.i_block)) {
    std::memcpy(inode.i_block, target.data(), target.size());  // fast symlink
    write_inode(w.fs, n->ino, inode);
  } else {
    auto ext = w.alloc_blocks(1, path);
    w.sink->write(ext[0].pblk * bs, target.data(), target.size());
    w.sink->zero(ext[0].pblk * bs + target.size(), bs - target.size());
    ext2fs_iblk_set(w.fs, reinterpret_cast<ext2_inode*>(&inode), 1);
    write_with_extents(w.fs, n->ino, inode, ext);
  }
  write_xattrs(w.fs, n->ino, meta.xattrs, show(path));
  ++w.stats.symlinks;
}

void Writer::begin_file(std::string_view path, const Meta& meta, uint64_t size,
                        const std::vector<DataRange>* data) {
  Impl& w = *impl_;
  Guard guard(w);
  Node* n = w.place(path, FileType::regular, false);
  const uint64_t bs = w.fs->blocksize;
  Impl::OpenFile f;
  f.path = std::string(path);
  f.meta = meta;
  f.meta.type = FileType::regular;
  f.ino = n->ino;
  f.size = size;
  if (!data) {
    f.extents = w.alloc_blocks((size + bs - 1) / bs, path);
    f.blocks = (size + bs - 1) / bs;
  } else {
    // A sparse file: blocks only under its data; the rest stays a hole.
    uint64_t next = 0;      // first block not yet allocated
    uint64_t prev_end = 0;  // end of the last range
    for (const DataRange& r : *data) {
      if (r.length == 0) continue;
      if (r.offset < prev_end || r.offset > size || r.length > size - r.offset)
        fail(ErrorKind::invalid_input,
             show(path) + ": sparse map out of order or past the file's " + std::to_string(size) + " bytes");
      prev_end = r.offset + r.length;
      uint64_t first = std::max(next, r.offset / bs);
      uint64_t end = (prev_end + bs - 1) / bs;
      if (end <= first) continue;  // within the block already allocated
      for (Extent e : w.alloc_blocks(end - first, path)) {
        e.lblk += first;
        f.extents.push_back(e);
      }
      f.blocks += end - first;
      next = end;
    }
  }
  w.file = std::move(f);
}

void Writer::Impl::put(const char* p, uint64_t len) {
  OpenFile& f = *file;
  const uint64_t bs = fs->blocksize;
  while (len) {
    uint64_t blk = f.written / bs;
    while (f.ext < f.extents.size() && f.extents[f.ext].lblk + f.extents[f.ext].len <= blk) ++f.ext;
    uint64_t n;
    if (f.ext < f.extents.size() && f.extents[f.ext].lblk <= blk) {
      const Extent& e = f.extents[f.ext];
      n = std::min(len, (e.lblk + e.len) * bs - f.written);
      uint64_t at = e.pblk * bs + (f.written - e.lblk * bs);
      // Zeros are written too inside allocated blocks: a reused block may
      // hold a removed file's bytes.
      if (p) sink->write(at, p, static_cast<size_t>(n));
      else sink->zero(at, static_cast<size_t>(n));
    } else {
      uint64_t hole_end = f.ext < f.extents.size() ? f.extents[f.ext].lblk * bs : UINT64_MAX;
      n = std::min(len, hole_end - f.written);
      if (p) fail(ErrorKind::invalid_input, show(f.path) + ": data outside the file's sparse map");
    }
    if (p) p += n;
    len -= n;
    f.written += n;
  }
}

// write() and skip(): the open file's next `len` bytes, data or a hole.
void Writer::append(const void* data, uint64_t len) {
  Impl& w = *impl_;
  Guard guard(w);
  const char* op = data ? "write()" : "skip()";
  if (!w.file) fail(ErrorKind::internal, std::string("ext4 writer: ") + op + " without begin_file()");
  Impl::OpenFile& f = *w.file;
  if (len > f.size - f.written) {
    fail(ErrorKind::invalid_input, show(f.path) + ": " + (data ? "more data than" : "a hole past") + " the " +
                                       std::to_string(f.size) + " bytes announced");
  }
  w.put(static_cast<const char*>(data), len);
}

void Writer::write(const void* data, size_t len) {
  static const char kEmpty = 0;
  append(data ? data : &kEmpty, len);  // never a hole, even for an empty write
}

void Writer::skip(uint64_t len) { append(nullptr, len); }

void Writer::end_file() {
  Impl& w = *impl_;
  Guard guard(w);
  if (!w.file) fail(ErrorKind::internal, "ext4 writer: end_file() without begin_file()");
  if (w.file->written != w.file->size) {
    Impl::OpenFile f = std::move(*w.file);
    w.file.reset();
    fail(ErrorKind::invalid_input, show(f.path) + ": expected " + std::to_string(f.size) +
                                       " bytes of data, got " + std::to_string(f.written));
  }
  const uint64_t bs = w.fs->blocksize;
  // Zero the rest of the last block (if it is allocated): no stale bytes,
  // and the next file's data continues the same large write.
  if (w.file->size % bs) w.put(nullptr, bs - w.file->size % bs);
  Impl::OpenFile f = std::move(*w.file);
  w.file.reset();
  ext2_inode_large inode;
  init_inode(inode, f.meta);
  check(ext2fs_inode_size_set(w.fs, reinterpret_cast<ext2_inode*>(&inode), f.size), "sizing " + show(f.path));
  check(ext2fs_iblk_set(w.fs, reinterpret_cast<ext2_inode*>(&inode), f.blocks), "sizing " + show(f.path));
  write_with_extents(w.fs, f.ino, inode, f.extents);
  write_xattrs(w.fs, f.ino, f.meta.xattrs, show(f.path));
  ++w.stats.files;
  w.stats.data_bytes += f.size;
}

void Writer::link(std::string_view path, std::string_view target) {
  Impl& w = *impl_;
  Guard guard(w);
  w.check_idle();
  auto missing = [&] {
    fail(ErrorKind::invalid_input, show(path) + ": hard link target " + show(target) + " does not exist",
         "the layer links to a file that is not in it or was removed");
  };
  Node* t = w.find(target);
  if (!t) missing();
  if (t->dir) {
    fail(ErrorKind::invalid_input, show(path) + ": hard link target " + show(target) + " is a directory",
         "the layer is malformed");
  }
  if (path == target) return;
  std::string_view leaf;
  Node* dir = w.parent_of(path, &leaf, true);
  auto it = dir->dir->children.find(leaf);
  if (it != dir->dir->children.end()) {
    if (it->second->ino == t->ino) return;  // already that file
    w.release(*it->second);
    dir->dir->children.erase(it);
    t = w.find(target);
    if (!t) missing();
  }
  uint32_t& count = w.links[t->ino];
  if (count == 0) count = 1;
  if (count >= EXT2_LINK_MAX) {
    fail(ErrorKind::invalid_input, show(path) + ": too many hard links to " + show(target));
  }
  ++count;
  auto n = std::make_unique<Node>();
  n->parent = dir;
  n->type = t->type;
  n->ino = t->ino;
  n->tag = w.tag;
  dir->dir->children.emplace(std::string(leaf), std::move(n));
  ++w.stats.hardlinks;
  ++w.stats.entries;
}

bool Writer::remove(std::string_view path) {
  Impl& w = *impl_;
  Guard guard(w);
  w.check_idle();
  std::string_view leaf;
  Node* dir = w.parent_of(path, &leaf, false);
  if (!dir) return false;
  auto it = dir->dir->children.find(leaf);
  if (it == dir->dir->children.end()) return false;
  w.release(*it->second);
  dir->dir->children.erase(it);
  return true;
}

void Writer::prune(std::string_view path, uint32_t tag) {
  Impl& w = *impl_;
  Guard guard(w);
  w.check_idle();
  if (!path.empty()) {
    std::string_view leaf;
    if (!w.parent_of(path, &leaf, false)) return;
  }
  Node* d = w.find(path);
  if (!d || !d->dir) return;
  std::vector<Node*> todo{d};
  while (!todo.empty()) {
    Node* cur = todo.back();
    todo.pop_back();
    auto& kids = cur->dir->children;
    for (auto it = kids.begin(); it != kids.end();) {
      if (it->second->tag != tag) {
        w.release(*it->second);
        it = kids.erase(it);
      } else {
        if (it->second->dir) todo.push_back(it->second.get());
        ++it;
      }
    }
  }
}

std::optional<FileType> Writer::type_of(std::string_view path) const {
  Node* n = impl_->find(path);
  if (!n) return std::nullopt;
  return n->type;
}

void Writer::Impl::write_dir(Node& n, const std::string& path) {
  const uint32_t bs = fs->blocksize;
  std::vector<DirEntryRef> entries;
  entries.reserve(n.dir->children.size());
  uint32_t subdirs = 0;
  for (auto& [name, child] : n.dir->children) {
    entries.push_back({name, child->ino, dirent_type(child->type)});
    if (child->dir) ++subdirs;
  }
  uint32_t parent = n.parent ? n.parent->ino : EXT2_ROOT_INO;
  DirBlocks b = build_dir_blocks(fs, n.ino, parent, std::move(entries), opt.htree);
  size_t nblocks = b.size() / bs;
  auto extents = alloc_blocks(nblocks, path);
  size_t i = 0;
  for (const Extent& e : extents) {
    for (uint32_t k = 0; k < e.len; ++k, ++i) {
      char* blk = b.at(i * bs);
      if (ext2fs_has_feature_metadata_csum(fs->super)) {
        check(ext2fs_dir_block_csum_set(fs, n.ino, reinterpret_cast<ext2_dir_entry*>(blk)),
              "checksumming directory " + show(path));
      }
      sink->write((e.pblk + k) * bs, blk, bs);
    }
  }
  ext2_inode_large inode;
  init_inode(inode, n.dir->meta);
  uint32_t nlink = 2 + subdirs;
  inode.i_links_count = static_cast<__u16>(nlink >= EXT2_LINK_MAX ? 1 : nlink);
  if (b.indexed) inode.i_flags |= EXT2_INDEX_FL;
  check(ext2fs_inode_size_set(fs, reinterpret_cast<ext2_inode*>(&inode), static_cast<uint64_t>(nblocks) * bs),
        "sizing directory " + show(path));
  ext2fs_iblk_set(fs, reinterpret_cast<ext2_inode*>(&inode), nblocks);
  write_with_extents(fs, n.ino, inode, extents);
  write_xattrs(fs, n.ino, n.dir->meta.xattrs, show(path));
}

WriterStats Writer::finish(const std::function<bool(const WriterStats&)>& want_journal) {
  Impl& w = *impl_;
  Guard guard(w);
  w.check_idle();
  w.add_lost_found();
  w.sink->flush();
  std::vector<std::pair<Node*, std::string>> todo{{&w.root, ""}};
  while (!todo.empty()) {
    auto [n, path] = std::move(todo.back());
    todo.pop_back();
    w.write_dir(*n, path);
    for (auto& [name, child] : n->dir->children) {
      if (child->dir) todo.emplace_back(child.get(), path.empty() ? name : path + "/" + name);
    }
  }
  w.sink->flush();
  for (auto& [ino, count] : w.links) {
    ext2_inode_large inode;
    read_inode(w.fs, ino, inode);
    inode.i_links_count = static_cast<__u16>(count);
    write_inode(w.fs, ino, inode);
  }
  ext2_super_block* sb = w.fs->super;
  w.stats.content_bytes = (w.free_at_start - ext2fs_free_blocks_count(sb)) * w.fs->blocksize;
  w.stats.inodes_used = sb->s_inodes_count - sb->s_free_inodes_count;
  w.stats.image_size = ext2fs_blocks_count(sb) * w.fs->blocksize;
  if (w.opt.journal && (!want_journal || want_journal(w.stats))) {
    add_journal_inode(w.fs, w.opt.timestamp, w.path);
  }
  w.stats.image_size = ext2fs_blocks_count(sb) * w.fs->blocksize;
  w.stats.blocks_used = ext2fs_blocks_count(sb) - ext2fs_free_blocks_count(sb);
  w.stats.inodes_used = sb->s_inodes_count - sb->s_free_inodes_count;
  ext2_filsys fs = w.fs;
  w.fs = nullptr;
  check(ext2fs_close2(fs, w.opt.sync ? 0 : EXT2_FLAG_FLUSH_NO_SYNC), "closing " + w.path);
  if (w.opt.sync && fsync(w.fd) != 0) fail_errno("syncing " + w.path);
  ::close(w.fd);
  w.fd = -1;
  return w.stats;
}

}  // namespace banger::ext4
