#include "host/layers/decompress.h"

#include <cstdlib>
#include <string_view>

#include "host/core/error.h"
#include "host/layers/codec.h"

namespace banger::layers {
namespace {

Compression sniff(std::string_view m) {
  if (m.size() >= 2 && static_cast<unsigned char>(m[0]) == 0x1f && static_cast<unsigned char>(m[1]) == 0x8b)
    return Compression::gzip;
  if (m.size() >= 4 && static_cast<unsigned char>(m[0]) == 0x28 && static_cast<unsigned char>(m[1]) == 0xb5 &&
      static_cast<unsigned char>(m[2]) == 0x2f && static_cast<unsigned char>(m[3]) == 0xfd)
    return Compression::zstd;
  return Compression::none;
}

struct Plain : Decompressor::Codec {
  void feed(const char* data, size_t size, const Decompressor::Out& out) override { out(data, size); }
  void finish() override {}
};

}  // namespace

bool gzip_engine_available(GzipEngine e) {
#ifdef BANGER_HAVE_ISAL
  return true;
#else
  return e == GzipEngine::zlib;
#endif
}

GzipEngine default_gzip_engine() {
  // BANGER_GZIP_ENGINE=zlib: zlib's inflate even where ISA-L is built in
  // (bench/pull_bench.sh compares the two in one run; a way around an
  // ISA-L fault in the field).
  const char* env = std::getenv("BANGER_GZIP_ENGINE");
  if (env && std::string_view(env) == "zlib") return GzipEngine::zlib;
  return gzip_engine_available(GzipEngine::isal) ? GzipEngine::isal : GzipEngine::zlib;
}

Decompressor::Decompressor(Compression c, GzipEngine gzip) : c_(c), gzip_(gzip) {
  if (!gzip_engine_available(gzip)) fail(ErrorKind::unsupported, "gzip: this banger was built without ISA-L");
}
Decompressor::~Decompressor() = default;

void Decompressor::start(const Out& out) {
  if (c_ == Compression::detect) c_ = sniff(head_);
  switch (c_) {
    case Compression::gzip:
#ifdef BANGER_HAVE_ISAL
      codec_ = gzip_ == GzipEngine::isal ? make_gzip_isal() : make_gzip_zlib();
#else
      codec_ = make_gzip_zlib();
#endif
      break;
    case Compression::zstd:
      codec_ = make_zstd();
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
