#include "host/ext4/dir_blocks.h"

#include <algorithm>
#include <cstring>

#include "host/ext4/fs_util.h"

namespace banger::ext4 {
namespace {

constexpr uint32_t kTailSize = sizeof(ext2_dir_entry_tail);

uint32_t rec_len_for(size_t name_len) { return (8 + static_cast<uint32_t>(name_len) + 3) & ~3u; }

// Fills directory blocks entry after entry; a new block starts when the
// next entry does not fit.
class LeafFiller {
 public:
  LeafFiller(ext2_filsys fs, std::vector<char>& out, bool csum)
      : fs_(fs), out_(out), bs_(fs->blocksize), csum_(csum) {}

  bool fits(size_t name_len) const { return has_block_ && pos_ + rec_len_for(name_len) <= usable(); }
  void new_block() {
    close_block();
    out_.resize(out_.size() + bs_, 0);
    block_ = out_.size() - bs_;
    pos_ = 0;
    last_ = SIZE_MAX;
    has_block_ = true;
  }
  void add(std::string_view name, uint32_t ino, uint8_t type) {
    if (!fits(name.size())) new_block();
    char* b = out_.data() + block_;
    auto* d = reinterpret_cast<ext2_dir_entry_2*>(b + pos_);
    d->inode = ino;
    d->rec_len = static_cast<__u16>(rec_len_for(name.size()));
    d->name_len = static_cast<__u8>(name.size());
    d->file_type = type;
    std::memcpy(d->name, name.data(), name.size());
    last_ = pos_;
    pos_ += d->rec_len;
  }
  // Stretches the block's last entry to the end (or to the checksum tail).
  void close_block() {
    if (!has_block_) return;
    char* b = out_.data() + block_;
    if (last_ == SIZE_MAX) {
      // An empty leaf: one unused entry covering the block.
      auto* d = reinterpret_cast<ext2_dir_entry_2*>(b);
      d->inode = 0;
      d->rec_len = static_cast<__u16>(usable());
      last_ = 0;
    } else {
      auto* d = reinterpret_cast<ext2_dir_entry_2*>(b + last_);
      d->rec_len = static_cast<__u16>(usable() - last_);
    }
    if (csum_) {
      ext2fs_initialize_dirent_tail(fs_, reinterpret_cast<ext2_dir_entry_tail*>(b + bs_ - kTailSize));
    }
    has_block_ = false;
  }
  size_t blocks() const { return out_.size() / bs_; }

 private:
  uint32_t usable() const { return bs_ - (csum_ ? kTailSize : 0); }
  ext2_filsys fs_;
  std::vector<char>& out_;
  uint32_t bs_;
  bool csum_;
  size_t block_ = 0;
  uint32_t pos_ = 0;
  size_t last_ = SIZE_MAX;
  bool has_block_ = false;
};

struct Hashed {
  uint32_t hash;
  const DirEntryRef* entry;
};

}  // namespace

DirBlocks build_dir_blocks(ext2_filsys fs, uint32_t self, uint32_t parent, std::vector<DirEntryRef> entries,
                           bool htree) {
  const bool csum = ext2fs_has_feature_metadata_csum(fs->super);
  const uint32_t bs = fs->blocksize;
  DirBlocks out;

  // Linear first: "." and ".." then everything.
  uint64_t linear_bytes = 24;
  for (auto& e : entries) linear_bytes += rec_len_for(e.name.size());
  uint32_t usable = bs - (csum ? kTailSize : 0);
  if (!htree || linear_bytes <= usable) {
    LeafFiller f(fs, out.leaves, csum);
    f.new_block();
    f.add(".", self, EXT2_FT_DIR);
    f.add("..", parent, EXT2_FT_DIR);
    for (auto& e : entries) f.add(e.name, e.ino, e.type);
    f.close_block();
    return out;
  }

  // Hashed: sort by name hash, fill leaves, index them from the root.
  int alg = fs->super->s_def_hash_version;
  if (alg <= EXT2_HASH_TEA && (fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH)) alg += 3;
  std::vector<Hashed> hashed;
  hashed.reserve(entries.size());
  for (auto& e : entries) {
    ext2_dirhash_t h = 0, minor = 0;
    check(ext2fs_dirhash2(alg, e.name.data(), static_cast<int>(e.name.size()), nullptr, 0,
                          fs->super->s_hash_seed, &h, &minor),
          "hashing a directory entry");
    hashed.push_back({static_cast<uint32_t>(h), &e});
  }
  std::sort(hashed.begin(), hashed.end(), [](const Hashed& a, const Hashed& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.entry->name < b.entry->name;
  });

  std::vector<char>& leaves = out.leaves;
  // Leaves end up about as full as a linear layout: reserve that, so the
  // buffer does not double its way up for a huge directory.
  leaves.reserve((linear_bytes + linear_bytes / 8) / bs * bs + 2 * bs);
  std::vector<uint32_t> leaf_hash;  // the index key of each leaf
  {
    LeafFiller f(fs, leaves, csum);
    uint32_t prev = 0;
    for (size_t i = 0; i < hashed.size(); ++i) {
      const auto& h = hashed[i];
      if (!f.fits(h.entry->name.size())) {
        f.new_block();
        uint32_t key = h.hash;
        // A run of equal hashes split across blocks: the continuation bit
        // tells lookups to look into this block as well.
        if (i > 0 && prev == h.hash) key |= 1;
        leaf_hash.push_back(leaf_hash.empty() ? 0 : key);
      }
      f.add(h.entry->name, h.entry->ino, h.entry->type);
      prev = h.hash;
    }
    f.close_block();
  }
  const size_t nleaves = leaf_hash.size();
  const uint32_t tail = csum ? sizeof(ext2_dx_tail) : 0;
  const uint32_t root_limit = (bs - 32 - tail) / sizeof(ext2_dx_entry);
  const uint32_t node_limit = (bs - 8 - tail) / sizeof(ext2_dx_entry);
  size_t nnodes = 0;
  if (nleaves > root_limit) {
    nnodes = (nleaves + node_limit - 1) / node_limit;
    if (nnodes > root_limit) {
      // Deeper trees need the largedir feature; stay linear instead.
      leaves.clear();
      return build_dir_blocks(fs, self, parent, std::move(entries), false);
    }
  }

  out.indexed = true;
  out.head.assign(static_cast<size_t>(bs) * (1 + nnodes), 0);
  // Root block: ".", ".." covering the rest, then the dx root info.
  char* root = out.head.data();
  auto* dot = reinterpret_cast<ext2_dir_entry_2*>(root);
  dot->inode = self;
  dot->rec_len = 12;
  dot->name_len = 1;
  dot->file_type = EXT2_FT_DIR;
  dot->name[0] = '.';
  auto* dotdot = reinterpret_cast<ext2_dir_entry_2*>(root + 12);
  dotdot->inode = parent;
  dotdot->rec_len = static_cast<__u16>(bs - 12);
  dotdot->name_len = 2;
  dotdot->file_type = EXT2_FT_DIR;
  dotdot->name[0] = dotdot->name[1] = '.';
  auto* info = reinterpret_cast<ext2_dx_root_info*>(root + 24);
  info->hash_version = static_cast<__u8>(fs->super->s_def_hash_version);
  info->info_length = 8;
  info->indirect_levels = nnodes ? 1 : 0;

  // Writes `count` index entries (block numbers `first_block + i`, keys
  // `keys[i]`) at `at` with their count/limit header.
  auto write_index = [](char* at, uint32_t limit, const uint32_t* keys, size_t count, uint32_t first_block) {
    auto* ent = reinterpret_cast<ext2_dx_entry*>(at);
    auto* cl = reinterpret_cast<ext2_dx_countlimit*>(at);
    for (size_t i = 0; i < count; ++i) {
      if (i) ent[i].hash = keys[i];
      ent[i].block = static_cast<__u32>(first_block + i);
    }
    cl->limit = static_cast<__u16>(limit);
    cl->count = static_cast<__u16>(count);
  };

  const uint32_t first_leaf = static_cast<uint32_t>(1 + nnodes);
  if (!nnodes) {
    write_index(root + 32, root_limit, leaf_hash.data(), nleaves, first_leaf);
  } else {
    std::vector<uint32_t> node_keys;
    for (size_t n = 0; n < nnodes; ++n) {
      size_t begin = n * node_limit;
      size_t count = std::min<size_t>(node_limit, nleaves - begin);
      node_keys.push_back(leaf_hash[begin]);
      char* node = out.head.data() + static_cast<size_t>(bs) * (1 + n);
      auto* fake = reinterpret_cast<ext2_dir_entry_2*>(node);
      fake->inode = 0;
      fake->rec_len = static_cast<__u16>(bs);
      // A node's first key is implied by its parent's entry.
      write_index(node + 8, node_limit, leaf_hash.data() + begin, count,
                  static_cast<uint32_t>(first_leaf + begin));
    }
    write_index(root + 32, root_limit, node_keys.data(), nnodes, 1);
  }
  return out;
}

}  // namespace banger::ext4
