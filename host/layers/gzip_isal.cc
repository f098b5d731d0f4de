// gzip with ISA-L's inflate (igzip): about 3x zlib's speed on the same
// member (AVX2/AVX-512 Huffman decoding), so a gzip layer inflates near the
// speed the ext4 writer takes it. Exactly as strict as gzip_zlib.cc, with
// the same error text: each member's header (and header CRC) is checked by
// ISA-L, then the deflate data and the 8-byte trailer (CRC-32 and ISIZE,
// the output size mod 2^32), also by ISA-L. Members may follow each other
// (RFC 1952); anything else after the last one is an error.
#include "host/layers/decompress.h"

#ifdef BANGER_HAVE_ISAL

#include <isa-l/igzip_lib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/layers/codec.h"

namespace banger::layers {
namespace {

[[noreturn]] void corrupt(const std::string& why) { fail(ErrorKind::invalid_input, "gzip: " + why); }

// The texts zlib gives for the same faults (gzip_zlib.cc), so a layer fails
// the same way whichever inflate read it.
[[noreturn]] void fail_isal(int rc, bool header) {
  switch (rc) {
    case ISAL_INVALID_WRAPPER:
      corrupt("incorrect header check");
    case ISAL_UNSUPPORTED_METHOD:
      corrupt("unknown compression method");
    case ISAL_INCORRECT_CHECKSUM:
      corrupt(header ? "header crc mismatch"
                     : "incorrect data check (the CRC-32 of the data does not match)");
    case ISAL_INVALID_BLOCK:
      corrupt("invalid block type");
    case ISAL_INVALID_SYMBOL:
      corrupt("invalid code");
    case ISAL_INVALID_LOOKBACK:
      corrupt("invalid distance too far back");
    default:
      corrupt("decompression failed (ISA-L error " + std::to_string(rc) + ")");
  }
}

struct GzipIsal : Decompressor::Codec {
  enum class Phase { idle, header, body };
  Phase phase = Phase::idle;
  inflate_state s{};
  isal_gzip_header hdr{};
  uint64_t header_seen = 0;    // bytes of the member's header passed to ISA-L
  unsigned char head[4] = {};  // its first 4: magic, method, flags
  unsigned char tail[8] = {};  // the last 8 bytes ISA-L consumed: at a bad check, the trailer
  std::vector<unsigned char> buf = std::vector<unsigned char>(kCodecOut);

  void keep_tail(const unsigned char* from, size_t n) {
    if (n >= sizeof tail) {
      std::memcpy(tail, from + n - sizeof tail, sizeof tail);
    } else {
      std::memmove(tail, tail + n, sizeof tail - n);
      std::memcpy(tail + sizeof tail - n, from, n);
    }
  }

  // ISA-L checks the trailer in one: its CRC-32 is compared with the
  // data's (s.crc) to name the field that is wrong.
  [[noreturn]] void bad_trailer() const {
    uint32_t crc = static_cast<uint32_t>(tail[0]) | static_cast<uint32_t>(tail[1]) << 8 |
                   static_cast<uint32_t>(tail[2]) << 16 | static_cast<uint32_t>(tail[3]) << 24;
    if (crc != s.crc) corrupt("incorrect data check (the CRC-32 of the data does not match)");
    corrupt("incorrect length check (the size in the trailer does not match)");
  }

  void feed(const char* data, size_t size, const Decompressor::Out& out) override {
    const auto* in = reinterpret_cast<const unsigned char*>(data);
    while (size > 0) {
      // At most 4 GiB a call (ISA-L's avail_in is 32-bit).
      uint32_t give = size > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(size);
      switch (phase) {
        case Phase::idle:
          isal_inflate_init(&s);
          isal_gzip_header_init(&hdr);  // name, comment, extra: not kept
          header_seen = 0;
          phase = Phase::header;
          break;
        case Phase::header: {
          // ISA-L reads the 10 fixed header bytes before it judges them,
          // and takes reserved flag bits (FLG) that zlib refuses: the first
          // 4 are judged here as zlib does, in pairs (magic; method, flags).
          for (uint64_t k = header_seen; k < 4 && k < header_seen + give; k++) {
            head[k] = in[k - header_seen];
            if (k == 1 && (head[0] != 0x1f || head[1] != 0x8b)) corrupt("incorrect header check");
            if (k == 3 && head[2] != 8) corrupt("unknown compression method");
            if (k == 3 && (head[3] & 0xe0)) corrupt("unknown header flags set");
          }
          s.next_in = const_cast<unsigned char*>(in);
          s.avail_in = give;
          int rc = isal_read_gzip_header(&s, &hdr);
          size_t used = give - s.avail_in;
          header_seen += used, in += used, size -= used;
          if (rc == ISAL_DECOMP_OK) {
            // The deflate data, then the trailer, checked by ISA-L.
            s.crc_flag = ISAL_GZIP_NO_HDR_VER;
            phase = Phase::body;
          } else if (rc != ISAL_END_INPUT) {
            fail_isal(rc, true);
          } else if (used == 0) {
            corrupt("decompression failed (ISA-L took no header byte)");  // never loop on it
          }
          break;
        }
        case Phase::body: {
          s.next_in = const_cast<unsigned char*>(in);
          s.avail_in = give;
          bool full;
          do {
            const unsigned char* before = s.next_in;
            s.next_out = buf.data();
            s.avail_out = static_cast<uint32_t>(buf.size());
            int rc = isal_inflate(&s);
            keep_tail(before, static_cast<size_t>(s.next_in - before));
            size_t got = buf.size() - s.avail_out;
            if (got) out(reinterpret_cast<const char*>(buf.data()), got);
            if (rc == ISAL_INCORRECT_CHECKSUM) bad_trailer();
            if (rc != ISAL_DECOMP_OK) fail_isal(rc, false);
            full = s.avail_out == 0;
          } while (s.block_state != ISAL_BLOCK_FINISH && (s.avail_in > 0 || full));
          // At the member's end (trailer checked) s.next_in is just past it.
          size_t used = give - s.avail_in;
          in += used, size -= used;
          if (s.block_state == ISAL_BLOCK_FINISH) phase = Phase::idle;
          break;
        }
      }
    }
  }

  void finish() override {
    if (phase != Phase::idle)
      fail(ErrorKind::invalid_input, "gzip: the stream ends inside a member (truncated)");
  }
};

}  // namespace

std::unique_ptr<Decompressor::Codec> make_gzip_isal() { return std::make_unique<GzipIsal>(); }

}  // namespace banger::layers

#endif  // BANGER_HAVE_ISAL
