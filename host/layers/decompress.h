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

class Decompressor {
 public:
  // `c`: none, gzip or zstd (detect: from the first bytes `feed` sees).
  explicit Decompressor(Compression c);
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
  std::string head_;  // the first bytes while detecting
  std::unique_ptr<Codec> codec_;
  void start(const Out& out);
};

}  // namespace banger::layers
