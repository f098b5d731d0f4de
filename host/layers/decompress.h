// Decompressing a layer stream, strictly: every gzip member's CRC-32 and
// length and every zstd frame's checksum are verified, a stream cut inside a
// member or frame is an error, and so is anything after the last member that
// is not another one (libarchive's gzip reader checks none of this). The
// output can be hashed on the way (a layer's diff_id).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "host/layers/layer.h"

namespace banger::layers {

// Which inflate reads gzip: ISA-L (gzip_isal.cc) where banger was built
// with it, zlib (gzip_zlib.cc) otherwise. Both are exactly as strict and
// fail with the same text; the tests run both on the same inputs.
enum class GzipEngine { isal, zlib };
bool gzip_engine_available(GzipEngine e);
GzipEngine default_gzip_engine();

class Decompressor {
 public:
  // `c`: none, gzip or zstd (detect: from the first bytes `feed` sees).
  explicit Decompressor(Compression c, GzipEngine gzip = default_gzip_engine());
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Output callback: decompressed bytes, in order.
  using Out = std::function<void(const char* data, size_t size)>;
  // Feeds `size` compressed bytes; throws invalid_input ("gzip: incorrect
  // data check") on corrupt data.
  void feed(const char* data, size_t size, const Out& out);
  // The compressed stream ended: throws if it ended inside a member/frame.
  void finish(const Out& out);
  Compression compression() const { return c_; }

  struct Codec;  // one per format (decompress.cc)

 private:
  Compression c_;
  GzipEngine gzip_;
  std::string head_;  // the first bytes while detecting
  std::unique_ptr<Codec> codec_;
  void start(const Out& out);
};

}  // namespace banger::layers
