#include "host/layers/layer_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "host/core/archive_reader.h"
#include "host/core/error.h"
#include "host/core/sha256.h"
#include "host/layers/decompress.h"

namespace banger::layers {
namespace {

constexpr size_t kChunk = 1 << 20;
const char* kHint = "the layer is corrupt or truncated; pull it again";

}  // namespace

// Decompression thread -> bounded queue of chunks -> tar parser.
struct LayerReader::Pipe {
  explicit Pipe(size_t queue_chunks) : queue_chunks(std::max<size_t>(1, queue_chunks)) {}
  const size_t queue_chunks;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<char>> full;
  std::vector<std::vector<char>> spare;
  bool done = false;       // producer finished (check `error`)
  bool cancelled = false;  // consumer gave up
  std::string error;
  std::vector<char> current;  // the chunk the tar parser is reading
  std::atomic<uint64_t> consumed{0};
  std::thread thread;
  Sha256 sha;
  std::string digest;  // of the decompressed stream, once done (when hashing)
  struct Cancelled {};

  ~Pipe() { stop(); }

  // Reads the compressed stream, decompresses it strictly (decompress.h)
  // and hashes the output, in chunks of kChunk.
  void produce(int fd, Compression c, bool hash) {
    std::string err;
    try {
      Decompressor dec(c);
      std::vector<char> out;
      auto take = [&](bool final) {
        if (out.empty() && !final) return;
        if (hash && !out.empty()) sha.update(out.data(), out.size());
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return cancelled || full.size() < queue_chunks; });
        if (cancelled) throw Cancelled{};
        if (!out.empty()) full.push_back(std::move(out));
        cv.notify_all();
        out = {};
        if (!spare.empty()) {
          out = std::move(spare.back());
          spare.pop_back();
        }
        out.clear();
        out.reserve(kChunk);
      };
      auto sink = [&](const char* data, size_t size) {
        while (size) {
          size_t n = std::min(size, kChunk - out.size());
          out.insert(out.end(), data, data + n);
          data += n, size -= n;
          if (out.size() == kChunk) take(false);
        }
      };
      out.reserve(kChunk);
      std::vector<char> in(kChunk);
      uint64_t total = 0;
      for (;;) {
        ssize_t n = ::read(fd, in.data(), in.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          fail_errno("reading the layer");
        }
        if (n == 0) break;
        total += static_cast<uint64_t>(n);
        consumed = total;
        dec.feed(in.data(), static_cast<size_t>(n), sink);
      }
      dec.finish(sink);
      take(true);
      if (hash) digest = sha.finish();
    } catch (const Cancelled&) {
    } catch (const Error& e) {
      err = e.message();
    } catch (const std::exception& e) {
      err = e.what();
    }
    std::unique_lock lk(mu);
    error = err.empty() && !cancelled ? "" : err;
    done = true;
    cv.notify_all();
  }

  // The tar parser has ended: reads (and hashes) the rest of the stream so
  // that the diff_id covers all of it and a bad trailer still fails.
  void drain() {
    std::unique_lock lk(mu);
    if (!current.empty()) spare.push_back(std::move(current));
    current.clear();
    for (;;) {
      cv.wait(lk, [&] { return !full.empty() || done; });
      if (full.empty()) return;
      spare.push_back(std::move(full.front()));
      full.pop_front();
      cv.notify_all();
    }
  }

  static la_ssize_t read_cb(archive*, void* client, const void** out) {
    auto* p = static_cast<Pipe*>(client);
    std::unique_lock lk(p->mu);
    if (!p->current.empty()) p->spare.push_back(std::move(p->current));
    p->current.clear();
    p->cv.notify_all();
    p->cv.wait(lk, [&] { return !p->full.empty() || p->done; });
    if (p->full.empty()) {
      if (!p->error.empty()) return -1;
      return 0;
    }
    p->current = std::move(p->full.front());
    p->full.pop_front();
    p->cv.notify_all();
    *out = p->current.data();
    return static_cast<la_ssize_t>(p->current.size());
  }

  void stop() {
    {
      std::unique_lock lk(mu);
      cancelled = true;
      cv.notify_all();
    }
    if (thread.joinable()) thread.join();
  }
};

Compression sniff_compression(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Compression::none;
  unsigned char m[4] = {};
  ssize_t n = pread(fd, m, sizeof m, 0);
  ::close(fd);
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return Compression::gzip;
  if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) return Compression::zstd;
  return Compression::none;
}

uint64_t uncompressed_size(const Layer& layer) {
  if (layer.fd >= 0 || layer.path.empty()) return 0;
  struct stat st {};
  if (::stat(layer.path.c_str(), &st) != 0) return 0;
  Compression c =
      layer.compression == Compression::detect ? sniff_compression(layer.path) : layer.compression;
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (c == Compression::none) return size;
  int fd = ::open(layer.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t out = 0;
  if (c == Compression::gzip && size >= 18) {
    // ISIZE: the last member's size mod 2^32. Trust it only when it is
    // plausible (above the compressed size and below 4 GiB of output).
    unsigned char t[4];
    if (pread(fd, t, 4, static_cast<off_t>(size - 4)) == 4) {
      uint64_t isize = t[0] | (t[1] << 8) | (t[2] << 16) | (static_cast<uint64_t>(t[3]) << 24);
      if (isize >= size / 2) out = isize;
    }
  } else if (c == Compression::zstd && size > 0) {
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      unsigned long long n = ZSTD_findDecompressedSize(map, size);
      // Frames written as a stream (skopeo's) carry no content size: their
      // block headers still bound it (a block holds at most its window or
      // 128 KiB), without decompressing. Without this a zstd image starts
      // at 64 GiB and pays resize2fs and a second journal pass at the end.
      if (n == ZSTD_CONTENTSIZE_UNKNOWN) n = ZSTD_decompressBound(map, size);
      if (n != ZSTD_CONTENTSIZE_UNKNOWN && n != ZSTD_CONTENTSIZE_ERROR) out = n;
      munmap(map, size);
    }
  }
  ::close(fd);
  return out;
}

LayerReader::LayerReader(const Layer& layer, size_t queue_chunks) : layer_(layer) {
  Compression c = layer.compression;
  if (layer.fd >= 0) {
    fd_ = layer.fd;
  } else {
    fd_ = ::open(layer.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail_errno("layer " + layer_.name() + ": opening " + layer.path);
    own_fd_ = true;
    struct stat st {};
    if (fstat(fd_, &st) == 0) total_ = static_cast<uint64_t>(st.st_size);
    posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (c == Compression::detect) c = sniff_compression(layer.path);
  }
  // A plain tar whose diff_id is its own (verified) blob digest needs no
  // second hash; anything else that is checked goes through the pipe.
  bool hash = !layer.diff_id.empty() && !(c == Compression::none && layer.diff_id == layer.digest);
  tar_ = std::make_unique<ArchiveReader>(ArchiveReader::Format::tar, false);  // decompression is ours
  int rc;
  if (c == Compression::none && !hash) {
    rc = tar_->open_fd(fd_) ? ARCHIVE_OK : ARCHIVE_FATAL;
  } else {
    pipe_ = std::make_unique<Pipe>(queue_chunks);
    int fd = fd_;
    pipe_->thread = std::thread([p = pipe_.get(), fd, c, hash] { p->produce(fd, c, hash); });
    rc = tar_->open_callback(pipe_.get(), &Pipe::read_cb) ? ARCHIVE_OK : ARCHIVE_FATAL;
  }
  if (rc != ARCHIVE_OK) fail_archive("reading");
}

LayerReader::~LayerReader() {
  if (pipe_) pipe_->stop();
  if (own_fd_ && fd_ >= 0) ::close(fd_);
}

void LayerReader::fail_archive(const char* what) {
  std::string msg;
  if (pipe_) {
    std::unique_lock lk(pipe_->mu);
    if (pipe_->done && !pipe_->error.empty()) msg = pipe_->error;
  }
  if (msg.empty()) msg = tar_->error("unreadable tar");
  std::string where = what;
  if (!current_.empty()) where += " /" + current_;
  fail(ErrorKind::invalid_input, "layer " + layer_.name() + ": " + where + ": " + msg, kHint);
}

archive_entry* LayerReader::next() {
  if (ended_) return nullptr;
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(tar_->get(), &e);
  if (rc == ARCHIVE_EOF) {
    finish();
    return nullptr;
  }
  if (rc == ARCHIVE_WARN) {
    // libarchive goes on after some header damage with a warning, e.g. a pax
    // header over its limit: the entry then silently takes its ustar name.
    // Only a name it cannot convert to the locale (bytes kept as they are)
    // is harmless.
    const char* w = archive_error_string(tar_->get());
    if (!w || !std::strstr(w, "can't be converted")) fail_archive("reading");
  }
  if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    const char* name = archive_entry_pathname(e);
    current_ = name ? name : "";
    while (current_.rfind("./", 0) == 0) current_.erase(0, 2);
    return e;
  }
  fail_archive("reading");
}

void LayerReader::finish() {
  ended_ = true;
  // libarchive takes a stream that stops at a block boundary as the end;
  // a tar ends with zero blocks, so without them the layer was cut short.
  // (At the end marker libarchive consumes it: its position moves past the
  // header position; at a bare end of data it does not.)
  bool marker = archive_filter_bytes(tar_->get(), 0) > archive_read_header_position(tar_->get());
  current_.clear();  // what fails now is the stream, not an entry
  if (pipe_) {
    pipe_->drain();
    std::unique_lock lk(pipe_->mu);
    if (!pipe_->error.empty()) {
      lk.unlock();
      fail_archive("reading");
    }
  }
  if (!marker)
    fail(ErrorKind::invalid_input,
         "layer " + layer_.name() + ": the tar ends without its end-of-archive blocks (truncated)", kHint);
  if (pipe_ && !layer_.diff_id.empty() && pipe_->digest != layer_.diff_id)
    fail(ErrorKind::invalid_input,
         "layer " + layer_.name() + ": its uncompressed content is " + pipe_->digest +
             ", but the image config's diff_id says " + layer_.diff_id,
         "the image's layers do not match its config (corrupt or tampered with); nothing was published");
}

bool LayerReader::data(const void** buf, size_t* len, int64_t* offset) {
  la_int64_t off = 0;
  int rc = archive_read_data_block(tar_->get(), buf, len, &off);
  *offset = off;
  if (rc == ARCHIVE_EOF) return false;
  if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) return true;
  fail_archive("reading");
}

uint64_t LayerReader::bytes_read() const {
  if (pipe_) return pipe_->consumed.load();
  return static_cast<uint64_t>(archive_filter_bytes(tar_->get(), -1));
}

}  // namespace banger::layers
