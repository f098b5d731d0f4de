// Streams a file tree into a new ext4 image with libext2fs, the way a tar
// writer streams a tar: create entries one after the other, give regular
// files their data as it arrives, finish. No root needed: owners, modes,
// devices and xattrs are written as given.
//
// The writer keeps the tree in memory (path -> inode, about 100 bytes per
// entry); file data goes straight to its final blocks, laid out back to back
// and written with large pwrite(2)s; directories are written once, at
// finish(), hashed (dir_index) when they need more than one block.
//
// Paths are relative to the image root and already clean ("usr/bin/ls"; ""
// is the root itself); the caller (host/layers) cleans and confines them.
// A missing parent is created (0755, root); a parent that exists but is not
// a directory (a symlink, a file) is an error: the writer never resolves a
// path through a symlink, so nothing can be written outside the named path.
//
// On an error the image is unusable (every later call fails too, like a tar
// writer's sticky error); the caller deletes it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/core/error.h"
#include "host/ext4/entry.h"

namespace banger::ext4 {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr uint32_t kBytesPerInode = 8192;

struct WriterOptions {
  uint64_t size = kGiB;  // image size in bytes (rounded down to 4 KiB); sparse
  bool journal = true;
  bool metadata_csum = true;
  bool htree = true;  // hashed directories when a directory needs >1 block
  std::string label;
  // Fixed UUID (the directory hash seed is derived from it): with a fixed
  // timestamp too, the same input gives the same image bytes.
  std::optional<std::array<uint8_t, 16>> uuid;
  // Filesystem creation time, and the time of directories the writer makes
  // up (missing parents, the root, lost+found). SOURCE_DATE_EPOCH-style.
  Timespec timestamp;
  uint32_t bytes_per_inode = kBytesPerInode;
  uint32_t max_extent_len = 32768;  // smaller only in tests (forces extent trees)
  bool sync = false;                // fsync the image at finish()
  // Write into an existing file already `size` bytes long (all zeros: just
  // made) instead of truncating it first: a VMM that opened it meanwhile
  // (a workspace written while its VM boots) never sees it empty.
  bool in_place = false;
};

struct WriterStats {
  uint64_t entries = 0;  // everything created (hard links included)
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t symlinks = 0;
  uint64_t hardlinks = 0;
  uint64_t others = 0;         // devices, fifos, sockets
  uint64_t removed = 0;        // entries removed (replaced, whited out)
  uint64_t data_bytes = 0;     // regular file bytes written
  uint64_t content_bytes = 0;  // blocks the entries took (data, directories, extent trees, xattrs)
  uint64_t image_size = 0;
  uint64_t blocks_used = 0;
  uint64_t inodes_used = 0;
};

// Thrown when the image has no inode left (an io error): a default-size
// build (host/layers) retries once, sized for the entries it counted.
class OutOfInodes : public Error {
 public:
  using Error::Error;
};

class Writer {
 public:
  Writer(const std::string& path, const WriterOptions& options);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Entries created from now on carry `tag` (host/layers: the layer index);
  // see prune().
  void set_tag(uint32_t tag);

  // Creates or updates a directory: an existing directory keeps its
  // children and takes the new metadata; anything else there is replaced.
  void mkdir(std::string_view path, const Meta& meta);
  // Creates a symlink, device, fifo or socket (meta.type), replacing
  // whatever is at `path`.
  void mknod(std::string_view path, const Meta& meta);
  void symlink(std::string_view path, const Meta& meta, std::string_view target);
  // A regular file of `size` bytes: begin_file, then write() (and skip()
  // over holes) exactly `size` bytes in order, then end_file(). With `data`
  // (a sparse file's map: its data ranges, in order) blocks are allocated
  // only under those ranges and skip()ped bytes elsewhere stay holes.
  struct DataRange {
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  void begin_file(std::string_view path, const Meta& meta, uint64_t size,
                  const std::vector<DataRange>* data = nullptr);
  void write(const void* data, size_t len);
  // `len` zero bytes: a hole where no block is allocated.
  void skip(uint64_t len);
  void end_file();
  // A hard link `path` to the existing non-directory `target`.
  void link(std::string_view path, std::string_view target);
  // Removes `path` (recursively). False when nothing is there.
  bool remove(std::string_view path);
  // Removes everything below directory `path` that does not carry `tag`
  // (directories carrying it are kept and pruned in turn): an OCI opaque
  // directory.
  void prune(std::string_view path, uint32_t tag);
  // The type of what is at `path` (not following symlinks), if anything.
  std::optional<FileType> type_of(std::string_view path) const;

  // Writes the directories, the link counts, the journal (if the options
  // ask for one and `want_journal`, given the stats so far, agrees: the
  // caller may prefer to add it after a resize) and the superblock; closes
  // the image. The writer cannot be used afterwards.
  WriterStats finish(const std::function<bool(const WriterStats&)>& want_journal = nullptr);

 public:
  struct Impl;

 private:
  void append(const void* data, uint64_t len);  // nullptr: a hole
  std::unique_ptr<Impl> impl_;
};

// The image sizes the writer makes: 8 MiB up to 16 TiB. Throws
// invalid_input naming the size otherwise (checked before any work: a pull
// checks a given --size before it downloads a layer).
constexpr uint64_t kMinImageSize = 8 * kMiB;
constexpr uint64_t kMaxImageSize = 16 * 1024 * kGiB;
void check_image_size(uint64_t bytes);

// The default image size for `content_bytes` of entries using `inodes`
// inodes: max(content x 1.25, 1 GiB), enough inodes (at 8 KiB per inode)
// for 1.25 x `inodes`, plus the room the filesystem's own metadata (inode
// tables, journal) takes in an image that size; a multiple of 1 MiB.
uint64_t default_image_size(uint64_t content_bytes, uint64_t inodes = 0);

// Adds a journal to an image written without one (after a resize2fs shrink,
// so that the journal is sized for the final image).
void add_journal(const std::string& path, const Timespec& timestamp);

}  // namespace banger::ext4
