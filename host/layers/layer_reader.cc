#include "host/layers/layer_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "host/core/error.h"

namespace banger::layers {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kQueueChunks = 8;
const char* kHint = "the layer is corrupt or truncated; pull it again";

}  // namespace

// Decompression thread -> bounded queue of chunks -> tar parser.
struct LayerReader::Pipe {
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

  ~Pipe() { stop(); }

  void produce(int fd) {
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    std::string err;
    archive_entry* e = nullptr;
    if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK) {
      err = archive_error_string(a) ? archive_error_string(a) : "cannot read the stream";
    }
    while (err.empty()) {
      std::vector<char> buf;
      {
        std::unique_lock lk(mu);
        if (cancelled) break;
        if (!spare.empty()) {
          buf = std::move(spare.back());
          spare.pop_back();
        }
      }
      buf.resize(kChunk);
      size_t used = 0;
      while (used < kChunk) {
        la_ssize_t n = archive_read_data(a, buf.data() + used, kChunk - used);
        if (n < 0) {
          err = archive_error_string(a) ? archive_error_string(a) : "decompression failed";
          break;
        }
        if (n == 0) break;
        used += static_cast<size_t>(n);
      }
      consumed = static_cast<uint64_t>(archive_filter_bytes(a, -1));
      if (!err.empty() || used == 0) break;
      buf.resize(used);
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return cancelled || full.size() < kQueueChunks; });
      if (cancelled) break;
      full.push_back(std::move(buf));
      cv.notify_all();
      if (used < kChunk) break;  // end of stream
    }
    archive_read_free(a);
    std::unique_lock lk(mu);
    error = err;
    done = true;
    cv.notify_all();
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
  struct stat st{};
  if (::stat(layer.path.c_str(), &st) != 0) return 0;
  Compression c = layer.compression == Compression::detect ? sniff_compression(layer.path)
                                                            : layer.compression;
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
      if (n != ZSTD_CONTENTSIZE_UNKNOWN && n != ZSTD_CONTENTSIZE_ERROR) out = n;
      munmap(map, size);
    }
  }
  ::close(fd);
  return out;
}

LayerReader::LayerReader(const Layer& layer) : layer_(layer) {
  Compression c = layer.compression;
  if (layer.fd >= 0) {
    fd_ = layer.fd;
    if (c == Compression::detect) c = Compression::gzip;  // anything: the thread detects
  } else {
    fd_ = ::open(layer.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail_errno("layer " + layer_.name() + ": opening " + layer.path);
    own_fd_ = true;
    struct stat st{};
    if (fstat(fd_, &st) == 0) total_ = static_cast<uint64_t>(st.st_size);
    posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (c == Compression::detect) c = sniff_compression(layer.path);
  }
  tar_ = archive_read_new();
  archive_read_support_format_tar(tar_);
  int rc;
  if (c == Compression::none) {
    rc = archive_read_open_fd(tar_, fd_, 1 << 20);
  } else {
    pipe_ = std::make_unique<Pipe>();
    int fd = fd_;
    pipe_->thread = std::thread([p = pipe_.get(), fd] { p->produce(fd); });
    rc = archive_read_open(tar_, pipe_.get(), nullptr, &Pipe::read_cb, nullptr);
  }
  if (rc != ARCHIVE_OK) fail_archive("reading");
}

LayerReader::~LayerReader() {
  if (pipe_) pipe_->stop();
  if (tar_) archive_read_free(tar_);
  if (own_fd_ && fd_ >= 0) ::close(fd_);
}

void LayerReader::fail_archive(const char* what) {
  std::string msg;
  if (pipe_) {
    std::unique_lock lk(pipe_->mu);
    if (pipe_->done && !pipe_->error.empty()) msg = pipe_->error;
  }
  if (msg.empty()) msg = archive_error_string(tar_) ? archive_error_string(tar_) : "unreadable tar";
  std::string where = what;
  if (!current_.empty()) where += " /" + current_;
  fail(ErrorKind::invalid_input, "layer " + layer_.name() + ": " + where + ": " + msg, kHint);
}

archive_entry* LayerReader::next() {
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(tar_, &e);
  if (rc == ARCHIVE_EOF) {
    // A stream that ends without its tar end marker is as bad as a cut one.
    if (pipe_) {
      std::unique_lock lk(pipe_->mu);
      if (pipe_->done && !pipe_->error.empty()) {
        lk.unlock();
        fail_archive("reading");
      }
    }
    return nullptr;
  }
  if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    const char* name = archive_entry_pathname(e);
    current_ = name ? name : "";
    while (current_.rfind("./", 0) == 0) current_.erase(0, 2);
    return e;
  }
  fail_archive("reading");
}

bool LayerReader::data(const void** buf, size_t* len, int64_t* offset) {
  la_int64_t off = 0;
  int rc = archive_read_data_block(tar_, buf, len, &off);
  *offset = off;
  if (rc == ARCHIVE_EOF) return false;
  if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) return true;
  fail_archive("reading");
}

uint64_t LayerReader::bytes_read() const {
  if (pipe_) return pipe_->consumed.load();
  return static_cast<uint64_t>(archive_filter_bytes(tar_, -1));
}

}  // namespace banger::layers
