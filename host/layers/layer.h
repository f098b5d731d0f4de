// A layer to apply: a tar stream from a file or a file descriptor, plain or
// compressed (gzip, zstd; detected from the first bytes when not given).
#pragma once

#include <string>

namespace banger::layers {

enum class Compression { detect, none, gzip, zstd };

struct Layer {
  std::string path;  // a file, or
  int fd = -1;       // a stream read to its end (not closed; e.g. mmdebstrap's stdout)
  Compression compression = Compression::detect;
  // Names the layer in errors ("sha256:..."); the path (or "stream") if empty.
  std::string digest;
  // The digest of the uncompressed tar the image config promises (its
  // rootfs.diff_ids entry); checked against what the layer really holds.
  std::string diff_id;

  std::string name() const {
    if (!digest.empty()) return digest;
    return fd >= 0 ? "stream" : path;
  }
};

}  // namespace banger::layers
