// OCI layer semantics on top of the ext4 writer: layers applied in order,
// whiteouts (.wh.NAME deletes NAME from the layers below), opaque
// directories (.wh..wh..opq hides everything below from lower layers), the
// later entry wins (a file replaces a directory and vice versa), hard links
// to entries already in the image, implied parents (0755 root).
//
// Names are cleaned and confined (tar_path.h); the writer never walks
// through a symlink, so no entry can land outside its own path. Errors name
// the layer and the path: "layer sha256:...: /etc/x: parent /etc is a symlink...".
#pragma once

#include <cstdint>
#include <functional>

#include "host/ext4/writer.h"
#include "host/layers/layer.h"
#include "host/layers/layer_reader.h"

namespace banger::layers {

struct ApplyProgress {
  uint32_t layer = 0;        // index of the layer being applied
  uint64_t bytes_read = 0;   // compressed bytes of that layer consumed
  uint64_t bytes_total = 0;  // its size when known
  uint64_t entries = 0;      // entries applied so far, all layers
};
using ApplyCallback = std::function<void(const ApplyProgress&)>;

// Applies one layer's entries. `index` tags what it creates (opaque dirs
// keep only entries of their own layer).
void apply_layer(ext4::Writer& writer, LayerReader& reader, const Layer& layer, uint32_t index,
                 const ApplyCallback& progress = nullptr, uint64_t* entries = nullptr);

}  // namespace banger::layers
