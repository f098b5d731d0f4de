#include "host/oci/blob_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/oci/digest.h"

namespace banger::oci {

namespace fs = std::filesystem;

namespace {

// Returns 0, or the errno of a failed write.
int write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

std::string megabytes(long long bytes) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

long long free_in(const fs::path& dir) {
  try {
    return static_cast<long long>(banger::fs::free_bytes(dir.string()));
  } catch (const Error&) {
    return 0;
  }
}

const char* kSpaceHint = "free space there, or set BANGER_HOME to a directory on a bigger filesystem";

[[noreturn]] void fail_mismatch(std::string_view what, std::string_view digest, const std::string& got) {
  fail(ErrorKind::invalid_input,
       std::string(what) + ": digest mismatch (expected " + std::string(digest) + ", got " + got + ")",
       "the data does not match its digest; it was discarded, nothing was cached. Pull again; if it "
       "persists, the registry or file is corrupt");
}

}  // namespace

BlobCache::BlobCache(const fs::path& cache_dir) : dir_(cache_dir / "blobs" / "sha256") {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    fail(ErrorKind::io, "creating the blob cache " + dir_.string() + ": " + ec.message(),
         "check that the cache directory is writable");
}

fs::path BlobCache::path(std::string_view digest) const {
  validate_digest(digest, "blob");
  return dir_ / std::string(digest_hex(digest));
}

fs::path BlobCache::partial_path(std::string_view digest) const {
  validate_digest(digest, "blob");
  return dir_ / (std::string(digest_hex(digest)) + ".partial");
}

bool BlobCache::contains(std::string_view digest) const {
  std::error_code ec;
  return fs::is_regular_file(path(digest), ec);
}

std::string BlobCache::read(std::string_view digest, int64_t max_size) const {
  auto data = banger::fs::read_file_limited(path(digest).string(), static_cast<size_t>(max_size));
  if (!data)
    fail(ErrorKind::invalid_input,
         std::string(digest) + ": larger than " + std::to_string(max_size) + " bytes");
  return std::move(*data);
}

fs::path BlobCache::put(std::string_view data, std::string_view digest, std::string_view what) {
  BlobWriter w(*this, std::string(digest), static_cast<int64_t>(data.size()), std::string(what));
  if (w.done()) return path(digest);
  w.restart();
  w.write(data.data(), data.size());
  return w.commit();
}

BlobWriter::BlobWriter(const BlobCache& cache, std::string digest, int64_t size, std::string what)
    : final_(cache.path(digest)),
      partial_(cache.partial_path(digest)),
      digest_(std::move(digest)),
      size_(size),
      what_(std::move(what)),
      hasher_(std::make_unique<Sha256>()) {
  for (;;) {
    std::error_code ec;
    if (fs::is_regular_file(final_, ec)) {
      done_ = true;
      return;
    }
    fd_ = ::open(partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      fail_errno("opening " + partial_.string(), "check that the cache directory is writable");
    }
    // Wait for another writer of the same blob.
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (interrupted()) {
        ::close(fd_);
        fd_ = -1;
        check_interrupted();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // The other writer may have renamed the file we opened into place.
    struct stat a {
    }, b{};
    if (::fstat(fd_, &a) == 0 && ::stat(partial_.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
      break;
    ::close(fd_);
    fd_ = -1;
  }
  // Resume: hash what the partial file already holds.
  struct stat st {};
  ::fstat(fd_, &st);
  if (size_ >= 0 && st.st_size > size_) {
    restart();
    return;
  }
  char buf[1 << 16];
  int64_t pos = 0;
  while (pos < st.st_size) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, pos);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    hasher_->update(buf, static_cast<size_t>(n));
    pos += n;
  }
  offset_ = pos;
  if (::lseek(fd_, offset_, SEEK_SET) < 0 || ::ftruncate(fd_, offset_) != 0) restart();
  // Known not to fit: say so now rather than fill the disk first.
  long long free = free_in(partial_.parent_path());
  if (size_ >= 0 && size_ - offset_ > free) {
    ::close(fd_);
    fd_ = -1;
    fail(ErrorKind::io,
         what_ + ": needs " + megabytes(size_ - offset_) + " on " + partial_.parent_path().string() +
             ", only " + megabytes(free) + " free",
         kSpaceHint);
  }
}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0 && offset_ == 0) ::unlink(partial_.c_str());  // nothing worth resuming
  if (fd_ >= 0) ::close(fd_);
}

void BlobWriter::restart() {
  if (done_) return;
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) < 0)
    fail_errno("truncating " + partial_.string());
  hasher_->reset();
  offset_ = 0;
}

bool BlobWriter::write(const char* data, size_t size) {
  if (size_ >= 0 && offset_ + static_cast<int64_t>(size) > size_) return false;
  if (int err = write_all(fd_, data, size)) {
    if (err != ENOSPC && err != EDQUOT) {
      errno = err;
      fail_errno("writing " + partial_.string(), "check that the cache directory is writable");
    }
    // A partial that filled the disk cannot be finished, and resuming it
    // later would keep the disk full until then: it goes now.
    long long needed = size_ >= 0 ? size_ - offset_ : static_cast<long long>(size);
    discard();
    fail(ErrorKind::io,
         what_ + ": no space left on " + partial_.parent_path().string() + " (" + megabytes(needed) +
             " more needed, " + megabytes(free_in(partial_.parent_path())) + " free)",
         std::string(kSpaceHint) + "; the partial download was removed");
  }
  hasher_->update(data, size);
  offset_ += static_cast<int64_t>(size);
  return true;
}

fs::path BlobWriter::commit() {
  if (done_) return final_;
  if (size_ >= 0 && offset_ != size_) {
    restart();
    fail(ErrorKind::invalid_input,
         what_ + ": size mismatch (expected " + std::to_string(size_) + " bytes, got " +
             std::to_string(offset_) + ")",
         "the data does not match its descriptor; it was discarded. Pull again; if it persists, the registry "
         "or "
         "file is corrupt");
  }
  std::string got = hasher_->finish();
  if (got != digest_) {
    restart();
    fail_mismatch(what_, digest_, got);
  }
  if (::fsync(fd_) != 0) fail_errno("syncing " + partial_.string());
  if (::rename(partial_.c_str(), final_.c_str()) != 0) fail_errno("renaming " + partial_.string());
  ::close(fd_);
  fd_ = -1;
  done_ = true;
  return final_;
}

void BlobWriter::discard() {
  if (fd_ < 0) return;
  ::unlink(partial_.c_str());
  ::close(fd_);
  fd_ = -1;
  offset_ = 0;
}

}  // namespace banger::oci
