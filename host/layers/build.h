// Layers -> ext4 image, in one streamed pass: each layer is decompressed
// once (in its own thread) and applied with OCI semantics (flatten.h)
// straight into the image (host/ext4/writer.h). Nothing is extracted to the
// host filesystem.
//
// Size: the caller's, or max(content x 1.25, 1 GiB) where content is what
// the image really holds (and enough inodes for 1.25 x the entries). The
// image is first made at least that large, sparse: 4 x the layers'
// uncompressed size when that can be read cheaply (gzip trailer, zstd frame
// headers, plain tar), 64 GiB for a stream, and never more than 64 GiB (the
// headers are the image's word, not a fact). If that is more than 1/8 above
// the target, the finished image (packed at its start by the writer) is
// shrunk with e2fsprogs' resize2fs, which also fsyncs it; the journal is
// added last, sized for the final image. Layers averaging under ~2 KiB of
// tar per entry (many empty files) can run out of inodes: the build then
// counts the entries and runs once more with an inode for each.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host/ext4/writer.h"
#include "host/layers/flatten.h"
#include "host/layers/layer.h"

namespace banger::layers {

struct BuildOptions {
  std::optional<uint64_t> size;  // bytes; default: max(content x 1.25, 1 GiB)
  bool journal = true;
  std::string label;
  // Reproducible output: a fixed UUID and timestamp (SOURCE_DATE_EPOCH).
  std::optional<std::array<uint8_t, 16>> uuid;
  std::optional<int64_t> timestamp;  // default: $SOURCE_DATE_EPOCH, else now
  bool sync = false;                 // fsync the image before returning
  ApplyCallback progress;
};

// Progress drawn by host/core/progress: a bar per layer being applied
// ("apply 0123456789ab"), the previous one ending when the next starts.
ApplyCallback layer_apply_bars(const std::vector<Layer>& layers);

struct BuildStats {
  ext4::WriterStats fs;
  uint32_t layers = 0;
  uint64_t compressed_bytes = 0;
  double seconds = 0;
};

// The size a default-size build starts at (before the shrink): from the
// layers' cheap size hints, at least 1 GiB, at most 64 GiB.
uint64_t initial_image_size(const std::vector<Layer>& layers);

// Checks a size given for a build before the layers are at hand (a pull
// calls it before it downloads them): a size the writer cannot make, or one
// smaller than a single layer's compressed bytes (whose tar holds at least
// that much), fails now rather than after the download. `layers`: each
// layer's name and compressed size.
void check_build_size(uint64_t size, const std::vector<std::pair<std::string, uint64_t>>& layers);

// Builds `out` (replaced if it exists). On any error `out` is removed.
BuildStats build_image(const std::vector<Layer>& layers, const std::string& out,
                       const BuildOptions& options = {});

}  // namespace banger::layers
