// Reads a layer's tar entries with libarchive. A compressed layer is
// decompressed once, in a thread of its own that starts when the reader is
// made and feeds the tar parser through a bounded queue of 1 MiB chunks
// (8 by default), so decompression and the ext4 writer run side by side and
// memory stays bounded.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "host/core/archive_reader.h"
#include "host/layers/layer.h"

namespace banger::layers {

class LayerReader {
 public:
  static constexpr size_t kDefaultQueueChunks = 8;
  // `queue_chunks`: how many MiB of decompressed tar the thread may run
  // ahead of the parser.
  explicit LayerReader(const Layer& layer, size_t queue_chunks = kDefaultQueueChunks);
  ~LayerReader();
  LayerReader(const LayerReader&) = delete;
  LayerReader& operator=(const LayerReader&) = delete;

  // The next entry, or nullptr at the end. Errors (corrupt or truncated
  // data, a bad gzip CRC, a tar without its end blocks, a diff_id that does
  // not match) throw invalid_input naming the layer.
  archive_entry* next();
  // The current entry's next data block (zero-copy); false at its end.
  // `offset` may jump ahead over holes of sparse files.
  bool data(const void** buf, size_t* len, int64_t* offset);
  // Compressed bytes consumed so far (for progress) and the total when known.
  uint64_t bytes_read() const;
  uint64_t bytes_total() const { return total_; }

 private:
  struct Pipe;
  [[noreturn]] void fail_archive(const char* what);
  void finish();  // at the tar's end: the checks of the whole stream
  bool ended_ = false;
  Layer layer_;
  int fd_ = -1;
  bool own_fd_ = false;
  uint64_t total_ = 0;
  std::unique_ptr<ArchiveReader> tar_;
  std::unique_ptr<Pipe> pipe_;  // set when a decompression thread runs; stopped before tar_ goes
  std::string current_;         // the entry being read, for errors
};

// The first bytes of a file tell its compression (gzip 1f 8b, zstd 28 b5 2f fd).
Compression sniff_compression(const std::string& path);
// The uncompressed size of a layer file when it can be known cheaply (plain
// tar: the file size; gzip: the ISIZE trailer; zstd: the frame headers, or
// the bound its blocks give);
// 0 when unknown.
uint64_t uncompressed_size(const Layer& layer);

}  // namespace banger::layers
