// zstd frames with libzstd's streaming decoder: every frame's checksum is
// verified when it has one, a stream cut inside a frame is an error.
#include <zstd.h>

#include <new>
#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/layers/codec.h"

namespace banger::layers {
namespace {

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

std::unique_ptr<Decompressor::Codec> make_zstd() { return std::make_unique<Zstd>(); }

}  // namespace banger::layers
