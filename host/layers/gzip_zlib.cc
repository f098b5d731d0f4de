// gzip with zlib: the portable inflate, used where ISA-L is not installed
// (gzip_isal.cc says why ISA-L is preferred).
#include <zlib.h>

#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/layers/codec.h"

namespace banger::layers {
namespace {

// Multi-member gzip (RFC 1952), as Go's gzip reader (containerd, docker)
// reads layers: members back to back, each checked; nothing else after them.
struct GzipZlib : Decompressor::Codec {
  z_stream z{};
  bool in_member = false;  // a member started and has not ended
  std::vector<unsigned char> buf = std::vector<unsigned char>(kCodecOut);
  GzipZlib() {
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail(ErrorKind::internal, "gzip: cannot initialise zlib");
  }
  ~GzipZlib() override { inflateEnd(&z); }
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

}  // namespace

std::unique_ptr<Decompressor::Codec> make_gzip_zlib() { return std::make_unique<GzipZlib>(); }

}  // namespace banger::layers
