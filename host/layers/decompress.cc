#include "host/layers/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <vector>

#include "host/core/error.h"

namespace banger::layers {
namespace {

constexpr size_t kOut = 1 << 18;

Compression sniff(std::string_view m) {
  if (m.size() >= 2 && static_cast<unsigned char>(m[0]) == 0x1f && static_cast<unsigned char>(m[1]) == 0x8b)
    return Compression::gzip;
  if (m.size() >= 4 && static_cast<unsigned char>(m[0]) == 0x28 && static_cast<unsigned char>(m[1]) == 0xb5 &&
      static_cast<unsigned char>(m[2]) == 0x2f && static_cast<unsigned char>(m[3]) == 0xfd)
    return Compression::zstd;
  return Compression::none;
}

}  // namespace

struct Decompressor::Codec {
  virtual ~Codec() = default;
  virtual void feed(const char* data, size_t size, const Out& out) = 0;
  virtual void finish() = 0;
};

namespace {

struct Plain : Decompressor::Codec {
  void feed(const char* data, size_t size, const Decompressor::Out& out) override { out(data, size); }
  void finish() override {}
};

// Multi-member gzip (RFC 1952), as Go's gzip reader (containerd, docker)
// reads layers: members back to back, each checked; nothing else after them.
struct Gzip : Decompressor::Codec {
  z_stream z{};
  bool in_member = false;  // a member started and has not ended
  std::vector<unsigned char> buf = std::vector<unsigned char>(kOut);
  Gzip() {
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail(ErrorKind::internal, "gzip: cannot initialise zlib");
  }
  ~Gzip() override { inflateEnd(&z); }
  void feed(const char* data, size_t size, const Decompressor::Out& out) override {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z.avail_in = static_cast<uInt>(size);
    while (z.avail_in > 0) {
      if (!in_member) {
        inflateReset(&z);
        in_member = true;
      }
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      int rc = inflate(&z, Z_NO_FLUSH);
      size_t got = buf.size() - z.avail_out;
      if (got) out(reinterpret_cast<const char*>(buf.data()), got);
      if (rc == Z_STREAM_END) {
        in_member = false;
        continue;
      }
      if (rc == Z_DATA_ERROR) {
        std::string why = z.msg ? z.msg : "corrupt data";
        if (why == "incorrect data check") why += " (the CRC-32 of the data does not match)";
        if (why == "incorrect length check") why += " (the size in the trailer does not match)";
        fail(ErrorKind::invalid_input, "gzip: " + why);
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) fail(ErrorKind::invalid_input, "gzip: decompression failed");
    }
  }
  void finish() override {
    if (in_member) fail(ErrorKind::invalid_input, "gzip: the stream ends inside a member (truncated)");
  }
};

struct Zstd : Decompressor::Codec {
  ZSTD_DStream* z = ZSTD_createDStream();
  size_t last = 0;  // 0: at a frame boundary
  std::vector<char> buf = std::vector<char>(ZSTD_DStreamOutSize());
  Zstd() {
    if (!z) throw std::bad_alloc();
    ZSTD_initDStream(z);
  }
  ~Zstd() override { ZSTD_freeDStream(z); }
  void feed(const char* data, size_t size, const Decompressor::Out& out) override {
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      size_t r = ZSTD_decompressStream(z, &o, &in);
      if (ZSTD_isError(r)) fail(ErrorKind::invalid_input, std::string("zstd: ") + ZSTD_getErrorName(r));
      if (o.pos) out(buf.data(), o.pos);
      // Called again at a frame's end with no input, the decoder would wait
      // for the next frame's header: keep the 0 that says "frame complete".
      if (in.pos == in.size && (r == 0 || o.pos < o.size)) {
        last = r;
        break;
      }
      last = r;
    }
  }
  void finish() override {
    if (last != 0) fail(ErrorKind::invalid_input, "zstd: the stream ends inside a frame (truncated)");
  }
};

}  // namespace

Decompressor::Decompressor(Compression c) : c_(c) {}
Decompressor::~Decompressor() = default;

void Decompressor::start(const Out& out) {
  if (c_ == Compression::detect) c_ = sniff(head_);
  switch (c_) {
    case Compression::gzip:
      codec_ = std::make_unique<Gzip>();
      break;
    case Compression::zstd:
      codec_ = std::make_unique<Zstd>();
      break;
    default:
      codec_ = std::make_unique<Plain>();
      break;
  }
  if (!head_.empty()) {
    std::string h = std::move(head_);
    head_.clear();
    codec_->feed(h.data(), h.size(), out);
  }
}

void Decompressor::feed(const char* data, size_t size, const Out& out) {
  if (!codec_) {
    if (c_ == Compression::detect) {
      // The magic may come split over reads: gather 4 bytes, then start
      // (which feeds what was gathered).
      head_.append(data, size);
      if (head_.size() >= 4) start(out);
      return;
    }
    start(out);
  }
  codec_->feed(data, size, out);
}

void Decompressor::finish(const Out& out) {
  if (!codec_) start(out);
  codec_->finish();
}

}  // namespace banger::layers
