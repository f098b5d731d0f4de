// The one libarchive reader setup every area uses (layer tars, OCI and
// docker archives, Debian packages and kernel modules): the formats and
// compressions to accept, how the bytes come in, and the reader's lifetime.
// Callers keep their own entry handling and error wording; the libarchive
// calls that walk entries and data take get().
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstddef>
#include <string>

namespace banger {

class ArchiveReader {
 public:
  enum class Format { tar, ar, raw, any };
  // `filters`: also read what libarchive can decompress (gzip, xz, zstd...).
  ArchiveReader(Format format, bool filters);
  ~ArchiveReader();
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // Opening: false on failure (error() says why).
  bool open_file(const std::string& path, size_t block = 256 << 10);
  bool open_fd(int fd, size_t block = 1 << 20);
  bool open_memory(const void* data, size_t size);
  // Bytes from `read` (a decompression thread, an outer archive's member).
  bool open_callback(void* client, archive_read_callback* read);

  archive* get() const { return a_; }
  // libarchive's message for the last failure, or `fallback`.
  std::string error(const char* fallback = "unreadable archive") const;

 private:
  archive* a_;
};

}  // namespace banger
