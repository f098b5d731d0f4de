// The decompressors behind Decompressor (decompress.h), one file each: a
// codec takes compressed bytes in order and hands out what they decompress
// to, strictly (decompress.h says what is checked).
#pragma once

#include <cstddef>
#include <memory>

#include "host/layers/decompress.h"

namespace banger::layers {

struct Decompressor::Codec {
  virtual ~Codec() = default;
  virtual void feed(const char* data, size_t size, const Out& out) = 0;
  // The compressed stream ended: throws if it ended inside a member/frame.
  virtual void finish() = 0;
};

// Size of the output blocks the codecs hand out.
constexpr size_t kCodecOut = 1 << 18;

std::unique_ptr<Decompressor::Codec> make_gzip_zlib();
// Only linked when ISA-L was found (BANGER_HAVE_ISAL); see gzip_engine_available.
std::unique_ptr<Decompressor::Codec> make_gzip_isal();
std::unique_ptr<Decompressor::Codec> make_zstd();

}  // namespace banger::layers
