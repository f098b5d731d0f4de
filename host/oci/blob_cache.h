// The content-addressed blob cache shared by all images:
// <cache_dir>/blobs/sha256/<hex>. A blob appears under its final name only
// after its bytes were verified against the digest (write to <hex>.partial in
// the same directory, verify, rename). A `.partial` file may stay behind after
// an interrupted download; the next download of the blob resumes from it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "host/oci/digest.h"

namespace banger::oci {

class BlobCache {
 public:
  // Creates <cache_dir>/blobs/sha256 if needed.
  explicit BlobCache(const std::filesystem::path& cache_dir);

  const std::filesystem::path& dir() const { return dir_; }
  // The final path of a blob; the digest is validated first.
  std::filesystem::path path(std::string_view digest) const;
  std::filesystem::path partial_path(std::string_view digest) const;
  bool contains(std::string_view digest) const;
  // Reads a cached blob of at most max_size bytes (manifests, configs).
  std::string read(std::string_view digest, int64_t max_size) const;
  // Verifies `data` against `digest` and stores it. `what` names the blob in errors.
  std::filesystem::path put(std::string_view data, std::string_view digest, std::string_view what);

 private:
  std::filesystem::path dir_;
};

// Writes one blob into the cache: holds an exclusive lock on the `.partial`
// file (concurrent pulls of one blob wait for each other), resumes from what
// it holds, hashes as it writes, and commit() verifies and renames.
class BlobWriter {
 public:
  // `size` < 0: unknown. Blocks (polling Ctrl-C) while another process writes the blob.
  BlobWriter(const BlobCache& cache, std::string digest, int64_t size, std::string what);
  ~BlobWriter();  // closes; a non-empty partial file stays for a later resume
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // True if the blob was already in the cache (nothing to write).
  bool done() const { return done_; }
  // Bytes already in the partial file (hashed).
  int64_t offset() const { return offset_; }
  // Start over from byte 0.
  void restart();
  // Appends; false if that would exceed the expected size.
  bool write(const char* data, size_t size);
  // Verifies size and digest, renames into place. On a mismatch the writer
  // starts over (the partial is emptied) and an invalid_input error naming
  // the blob is thrown.
  std::filesystem::path commit();
  // Deletes the partial file.
  void discard();

 private:
  std::filesystem::path final_;
  std::filesystem::path partial_;
  std::string digest_;
  int64_t size_;
  std::string what_;
  int fd_ = -1;
  int64_t offset_ = 0;
  bool done_ = false;
  std::unique_ptr<Sha256> hasher_;
};

}  // namespace banger::oci
