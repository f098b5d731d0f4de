// Differential fuzzing of the two gzip inflates (host/layers/gzip_isal.cc,
// gzip_zlib.cc): on any bytes a registry may send, both must give the same
// output, or both refuse them. Where zlib and ISA-L only word a fault in
// the deflate data differently (or one sees it before a cut stream ends),
// the text may differ; two verdicts on the framing (header, flags, ISIZE,
// members, trailing bytes, a cut stream) are worded the same. The input is also fed in two pieces, split
// where its first byte says, so state carried across reads is covered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "host/core/error.h"
#include "host/layers/decompress.h"

using namespace banger;
using layers::Compression;
using layers::Decompressor;
using layers::GzipEngine;

namespace {

constexpr size_t kMaxOut = 64 << 20;  // a bomb stops here, the same for both

struct Result {
  bool ok = true;
  bool capped = false;
  std::string out, error;
};

Result run(const uint8_t* data, size_t size, size_t split, GzipEngine e) {
  Result r;
  struct Capped {};
  auto sink = [&](const char* d, size_t n) {
    if (r.out.size() + n > kMaxOut) throw Capped{};
    r.out.append(d, n);
  };
  try {
    Decompressor dec(Compression::gzip, e);
    const char* p = reinterpret_cast<const char*>(data);
    dec.feed(p, split, sink);
    dec.feed(p + split, size - split, sink);
    dec.finish(sink);
  } catch (const Capped&) {
    r.capped = true;
  } catch (const Error& err) {
    r.ok = false;
    r.error = err.message();
  }
  return r;
}

bool framing(const std::string& e) {
  return e == "gzip: the stream ends inside a member (truncated)" ||
         e == "gzip: incorrect length check (the size in the trailer does not match)" ||
         e == "gzip: unknown header flags set" || e == "gzip: unknown compression method" ||
         e == "gzip: incorrect header check" || e == "gzip: header crc mismatch";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!layers::gzip_engine_available(GzipEngine::isal)) return 0;
  size_t split = size ? data[0] % (size + 1) : 0;
  Result z = run(data, size, split, GzipEngine::zlib);
  Result i = run(data, size, split, GzipEngine::isal);
  if (z.capped || i.capped) return 0;  // a bomb: where each stops differs
  if (z.ok != i.ok) abort();
  if (z.ok && z.out != i.out) abort();
  // (A stream cut inside a trailer whose CRC-32 is wrong: zlib checks the
  // CRC as soon as its 4 bytes are in, ISA-L once all 8 are; the CRC text
  // is not a framing verdict here, and both refuse.)
  // A fault in the deflate data itself may be seen by one inflate before a
  // cut stream ends (its lookahead differs): only two framing verdicts
  // must agree.
  if (!z.ok && framing(z.error) && framing(i.error) && z.error != i.error) abort();
  return 0;
}
