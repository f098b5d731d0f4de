// The strict gzip and zstd readers (host/layers/decompress.h). Every gzip
// case runs through both inflates (ISA-L and zlib) on the same bytes, fed
// whole, a byte at a time and in odd pieces: the output and the error text
// must be the same whichever reads it.
#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/layers/decompress.h"

using namespace banger;
using layers::Compression;
using layers::Decompressor;
using layers::GzipEngine;

namespace {

std::vector<GzipEngine> engines() {
  std::vector<GzipEngine> out{GzipEngine::zlib};
  if (layers::gzip_engine_available(GzipEngine::isal)) out.push_back(GzipEngine::isal);
  return out;
}

const char* name(GzipEngine e) { return e == GzipEngine::isal ? "isal" : "zlib"; }

// Decompresses `in` fed in pieces of `step` bytes; the output, or
// "error: " + the message.
std::string run(const std::string& in, Compression c, GzipEngine e, size_t step) {
  std::string out;
  auto sink = [&](const char* d, size_t n) { out.append(d, n); };
  try {
    Decompressor dec(c, e);
    for (size_t at = 0; at < in.size(); at += step)
      dec.feed(in.data() + at, std::min(step, in.size() - at), sink);
    dec.finish(sink);
  } catch (const Error& err) {
    REQUIRE(err.kind() == ErrorKind::invalid_input);
    return "error: " + err.message();
  }
  return out;
}

// The same result from every engine and every way of feeding the bytes.
std::string gunzip(const std::string& in) {
  std::string first;
  bool have = false;
  for (auto e : engines()) {
    for (size_t step : {in.size() + 1, size_t{1}, size_t{7}, size_t{4093}}) {
      std::string got = run(in, Compression::gzip, e, step);
      INFO("engine " << name(e) << ", pieces of " << step);
      if (!have) {
        first = got, have = true;
      } else {
        REQUIRE(got.substr(0, 200) == first.substr(0, 200));
        REQUIRE(got == first);
      }
    }
  }
  return first;
}

std::string deflate_raw(const std::string& data, int level = 6) {
  std::string out(compressBound(static_cast<uLong>(data.size())) + 64, '\0');
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; i++) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

uint32_t crc_of(const std::string& d) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size())));
}

// One gzip member, header written by hand so every field can be set.
struct Member {
  std::string data;
  unsigned char flags = 0;
  unsigned char method = 8;
  std::string extra, fname, comment;
  bool hcrc = false, bad_hcrc = false;
  int crc_delta = 0, size_delta = 0;
  std::string bytes() const {
    std::string h = {'\x1f', '\x8b', static_cast<char>(method), 0, 0, 0, 0, 0, 0, 3};
    unsigned char flg = flags;
    if (!extra.empty()) flg |= 4;
    if (!fname.empty()) flg |= 8;
    if (!comment.empty()) flg |= 16;
    if (hcrc) flg |= 2;
    h[3] = static_cast<char>(flg);
    if (!extra.empty()) {
      h += static_cast<char>(extra.size() & 0xff);
      h += static_cast<char>(extra.size() >> 8);
      h += extra;
    }
    if (!fname.empty()) h += fname + '\0';
    if (!comment.empty()) h += comment + '\0';
    if (hcrc) {
      uint32_t c = crc_of(h) + (bad_hcrc ? 1 : 0);
      h += static_cast<char>(c & 0xff);
      h += static_cast<char>((c >> 8) & 0xff);
    }
    return h + deflate_raw(data) + le32(crc_of(data) + crc_delta) +
           le32(static_cast<uint32_t>(data.size()) + size_delta);
  }
};

std::string sample(size_t n) {
  std::string s;
  for (uint32_t i = 0; s.size() < n; i++) s += std::to_string(i * 7919u) + (i % 13 ? " " : "\n");
  s.resize(n);
  return s;
}

}  // namespace

TEST_CASE("decompress: gzip members back to back, with every header field, read alike by both inflates",
          "[layers][gzip]") {
  CHECK(layers::gzip_engine_available(GzipEngine::zlib));
  // ISA-L where it was built in (always on Debian: libisal-dev).
  CHECK(layers::default_gzip_engine() ==
        (layers::gzip_engine_available(GzipEngine::isal) ? GzipEngine::isal : GzipEngine::zlib));
  std::string big = sample(3 << 20);  // several deflate blocks, more than the codecs' output buffers
  Member a{big};
  Member b{"hello"};
  b.fname = "layer.tar", b.comment = "a comment", b.extra = std::string(300, 'x'), b.hcrc = true;
  Member empty{""};
  CHECK(gunzip(a.bytes()) == big);
  CHECK(gunzip(a.bytes() + b.bytes() + empty.bytes() + a.bytes()) == big + "hello" + big);
  CHECK(gunzip(empty.bytes()) == "");
  CHECK(gunzip("") == "");
  // Stored (level 0) blocks are byte-aligned copies: a different path in both.
  std::string stored = std::string("\x1f\x8b\x08\0\0\0\0\0\0\3", 10) + deflate_raw(big.substr(0, 200000), 0) +
                       le32(crc_of(big.substr(0, 200000))) + le32(200000);
  CHECK(gunzip(stored) == big.substr(0, 200000));
}

TEST_CASE(
    "decompress: a gzip trailer's bad CRC or size, a bad header and trailing garbage fail the same way "
    "in both inflates",
    "[layers][gzip][hostile]") {
  std::string data = sample(100000);
  Member crc{data};
  crc.crc_delta = 1;
  CHECK(gunzip(crc.bytes()) == "error: gzip: incorrect data check (the CRC-32 of the data does not match)");
  Member size{data};
  size.size_delta = 1;
  CHECK(gunzip(size.bytes()) ==
        "error: gzip: incorrect length check (the size in the trailer does not match)");
  // A good member, then a bad one: the first one's output is not taken as all.
  CHECK(gunzip(Member{data}.bytes() + crc.bytes()) ==
        "error: gzip: incorrect data check (the CRC-32 of the data does not match)");
  Member hcrc{data};
  hcrc.hcrc = true, hcrc.bad_hcrc = true;
  CHECK(gunzip(hcrc.bytes()) == "error: gzip: header crc mismatch");
  Member flags{data};
  flags.flags = 0x20;  // reserved
  CHECK(gunzip(flags.bytes()) == "error: gzip: unknown header flags set");
  Member method{data};
  method.method = 7;
  CHECK(gunzip(method.bytes()) == "error: gzip: unknown compression method");
  // Shorter than a header: judged as soon as zlib would (the magic as a
  // pair, then method and flags as a pair), not when 10 bytes are in.
  CHECK(gunzip(std::string("x\x01\0\0\0\0\xc9", 7)) == "error: gzip: incorrect header check");
  CHECK(gunzip(std::string("\0", 1)) == "error: gzip: the stream ends inside a member (truncated)");
  CHECK(gunzip(std::string("\x1f\x8b\x07", 3)) == "error: gzip: the stream ends inside a member (truncated)");
  CHECK(gunzip(std::string("\x1f\x8b\x07\0", 4)) == "error: gzip: unknown compression method");
  CHECK(gunzip(std::string("\x1f\x8b\x08\x40", 4)) == "error: gzip: unknown header flags set");
  std::string good = Member{data}.bytes();
  CHECK(gunzip(good + "trailing garbage") == "error: gzip: incorrect header check");
  CHECK(gunzip(good + std::string(512, '\0')) == "error: gzip: incorrect header check");
  // A member cut anywhere: never taken as complete.
  std::string small = Member{"a small member, cut everywhere"}.bytes();
  for (size_t cut = 1; cut < small.size(); cut++) {
    INFO("cut at " << cut << " of " << small.size());
    CHECK(gunzip(small.substr(0, cut)) == "error: gzip: the stream ends inside a member (truncated)");
    CHECK(gunzip(good + small.substr(0, cut)) == "error: gzip: the stream ends inside a member (truncated)");
  }
  // Damaged deflate data: both refuse it (their words for the fault differ).
  std::string bad = good;
  for (size_t i = 40; i < 400; i++) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  for (auto e : engines()) {
    INFO("engine " << name(e));
    CHECK(run(bad, Compression::gzip, e, bad.size()).rfind("error: gzip: ", 0) == 0);
  }
}

TEST_CASE("decompress: zstd frames are checked, a cut frame or trailing garbage is refused",
          "[layers][zstd]") {
  std::string data = sample(1 << 20);
  std::string frame(ZSTD_compressBound(data.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  frame.resize(ZSTD_compress2(cctx, frame.data(), frame.size(), data.data(), data.size()));
  ZSTD_freeCCtx(cctx);
  auto unzstd = [](const std::string& in) {
    std::string first = run(in, Compression::zstd, GzipEngine::zlib, in.size() + 1);
    CHECK(run(in, Compression::zstd, GzipEngine::zlib, 1) == first);
    CHECK(run(in, Compression::zstd, GzipEngine::zlib, 4093) == first);
    return first;
  };
  CHECK(unzstd(frame + frame) == data + data);
  CHECK(unzstd(frame.substr(0, frame.size() - 1)) ==
        "error: zstd: the stream ends inside a frame (truncated)");
  std::string bad = frame;
  bad[bad.size() - 1] = static_cast<char>(bad[bad.size() - 1] ^ 1);  // the checksum
  CHECK(unzstd(bad) == "error: zstd: Restored data doesn't match checksum");
  CHECK(unzstd(frame + "garbage!").rfind("error: zstd: ", 0) == 0);
}
