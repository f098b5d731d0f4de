#include "host/layers/build.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <memory>
#include <utility>

#include "host/core/error.h"
#include "host/core/process.h"
#include "host/core/progress.h"
#include "host/layers/layer_reader.h"

namespace banger::layers {
namespace {

constexpr uint64_t kStreamSize = 64 * ext4::kGiB;
constexpr uint64_t kBlockSize = 4096;  // the writer's (host/ext4/mkfs.cc)

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// resize2fs's own estimate of the smallest size it will shrink to (bytes;
// 0 if unknown): the metadata of every group in use plus its slack, which
// for a large image (1 GiB+ of content) is above content x 1.25.
uint64_t resize2fs_minimum(const std::string& exe, const std::string& path) {
  auto r = run_capture({exe, "-P", path});
  const std::string key = "minimum size of the filesystem: ";
  size_t at = r.out.find(key);
  if (r.exit_code != 0 || at == std::string::npos) return 0;
  return std::strtoull(r.out.c_str() + at + key.size(), nullptr, 10) * kBlockSize;
}

// Shrinks to `size`, or to resize2fs's minimum when that is larger. Returns
// the new size, or 0 (keeping the larger, still valid, sparse image) when
// resize2fs is not installed or cannot make it smaller.
uint64_t shrink(const std::string& path, uint64_t size, uint64_t current) {
  auto exe = find_executable("resize2fs");
  if (!exe) {
    spdlog::warn("resize2fs not found (e2fsprogs): {} keeps its build size", path);
    return 0;
  }
  size = round_up(std::max(size, resize2fs_minimum(*exe, path)), ext4::kMiB);
  if (size >= current) return 0;
  auto r = run_capture({*exe, path, std::to_string(size / 1024) + "K"});
  if (r.exit_code != 0) {
    fail(ErrorKind::io, "shrinking " + path + ": resize2fs failed: " + r.err, "give an explicit size");
  }
  return size;
}

// Entries in all layers (a pass over the tar headers, data skipped).
uint64_t count_entries(const std::vector<Layer>& layers) {
  uint64_t n = 0;
  for (const auto& l : layers) {
    LayerReader r(l);
    while (r.next()) ++n;
  }
  return n;
}

// How far (MiB of decompressed tar) the next layer may inflate ahead of the
// one being applied: enough to keep the second core busy while the writer
// works through this layer, little beside the writer's own memory.
constexpr size_t kAheadChunks = 64;

// The layers' readers, each opened (its decompression thread started) when
// the layer before it begins to be applied: layer i+1 inflates while layer
// i is written, and layers are still applied strictly in order. Anything
// that fails in the next layer (a missing file, corrupt data) surfaces only
// at its turn, after the layers before it, as if read one by one; readers
// not reached are stopped (their threads joined) by the destructor.
class LayersAhead {
 public:
  explicit LayersAhead(const std::vector<Layer>& layers) : layers_(layers) {}
  std::unique_ptr<LayerReader> take(size_t i) {
    std::unique_ptr<LayerReader> r = i == 0 ? open(0, LayerReader::kDefaultQueueChunks) : std::move(next_);
    if (i > 0 && next_error_) std::rethrow_exception(std::exchange(next_error_, nullptr));
    if (i + 1 < layers_.size()) {
      try {
        next_ = open(i + 1, kAheadChunks);
      } catch (...) {
        next_error_ = std::current_exception();
      }
    }
    return r;
  }

 private:
  std::unique_ptr<LayerReader> open(size_t i, size_t chunks) {
    return std::make_unique<LayerReader>(layers_[i], chunks);
  }
  const std::vector<Layer>& layers_;
  std::unique_ptr<LayerReader> next_;
  std::exception_ptr next_error_;
};

// One build attempt: the writer, every layer, then the shrink and journal.
void write_image(const std::vector<Layer>& layers, const std::string& out, const ext4::WriterOptions& wo,
                 const BuildOptions& options, bool may_shrink, BuildStats& stats) {
  ext4::Writer w(out, wo);
  uint64_t entries = 0;
  LayersAhead readers(layers);
  for (uint32_t i = 0; i < layers.size(); ++i) {
    std::unique_ptr<LayerReader> r = readers.take(i);
    apply_layer(w, *r, layers[i], i, options.progress, &entries);
    stats.compressed_bytes += r->bytes_read();
  }
  // A default-size image may be shrunk: it gets its journal afterwards,
  // sized for the final image (reopening it costs an fsync, so only then).
  uint64_t target = 0;
  auto keep_size = [&](const ext4::WriterStats& s) {
    if (!may_shrink) return true;
    target = ext4::default_image_size(s.content_bytes, s.inodes_used);
    // Within 1/8 of the target is close enough (the image is sparse).
    return target + target / 8 >= s.image_size;
  };
  stats.fs = w.finish(keep_size);
  stats.layers = static_cast<uint32_t>(layers.size());
  if (may_shrink && !keep_size(stats.fs)) {
    if (uint64_t shrunk = shrink(out, target, stats.fs.image_size)) stats.fs.image_size = shrunk;
    if (options.journal) ext4::add_journal(out, wo.timestamp);
  }
  if (options.sync) {
    // resize2fs and add_journal wrote after the writer's fsync.
    int fd = ::open(out.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      fsync(fd);
      ::close(fd);
    }
  }
}

}  // namespace

void check_build_size(uint64_t size, const std::vector<std::pair<std::string, uint64_t>>& layers) {
  ext4::check_image_size(size);
  for (const auto& [name, bytes] : layers) {
    if (bytes <= size) continue;
    fail(ErrorKind::invalid_input,
         "image size " + std::to_string(size / ext4::kMiB) + " MiB is smaller than layer " + name + " (" +
             std::to_string((bytes + ext4::kMiB - 1) / ext4::kMiB) + " MiB compressed)",
         "give a larger size, or leave it out for the default (sized by the content)");
  }
}

uint64_t initial_image_size(const std::vector<Layer>& layers) {
  uint64_t estimate = 0;
  bool known = true;
  for (const auto& l : layers) {
    uint64_t s = uncompressed_size(l);
    if (!s) known = false;
    estimate = std::min(estimate + std::min(s, kStreamSize), kStreamSize);  // no overflow
  }
  // 4 x the tar bytes: room for small files' block rounding, and an inode
  // per 2 KiB of tar. Most images (up to 256 MiB of tar) end at 1 GiB
  // right away, without the shrink (whose fsync costs a disk write).
  uint64_t size = known ? std::max<uint64_t>(4 * estimate, ext4::kGiB) : kStreamSize;
  // Sizes come from the layers' own headers, which a hostile image
  // controls (a zstd frame may claim 8 TiB): never start larger than for a
  // stream; the shrink at the end sizes the image by what it holds.
  return round_up(std::min(size, kStreamSize), ext4::kMiB);
}

BuildStats build_image(const std::vector<Layer>& layers, const std::string& out,
                       const BuildOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  BuildStats stats;
  ext4::WriterOptions wo;
  wo.label = options.label;
  wo.uuid = options.uuid;
  wo.sync = options.sync;
  wo.journal = options.journal;
  int64_t now = static_cast<int64_t>(time(nullptr));
  if (options.timestamp) {
    now = *options.timestamp;
  } else if (const char* sde = getenv("SOURCE_DATE_EPOCH"); sde && *sde) {
    now = std::strtoll(sde, nullptr, 10);
  }
  wo.timestamp = ext4::Timespec{now, 0};

  bool may_shrink = false;
  if (options.size) {
    wo.size = *options.size;
  } else {
    wo.size = initial_image_size(layers);
    may_shrink = true;
  }
  spdlog::debug("building {} from {} layer(s), {} MiB", out, layers.size(), wo.size / ext4::kMiB);
  try {
    try {
      write_image(layers, out, wo, options, may_shrink, stats);
    } catch (const ext4::OutOfInodes& e) {
      // Many tiny entries (about 1 per 2 KiB of tar or more): with the size
      // left to banger, build once more with an inode for each entry.
      bool rereadable = true;
      for (const auto& l : layers) rereadable = rereadable && l.fd < 0;
      if (!may_shrink || !rereadable) throw Error(e.kind(), e.message(), e.hint());
      uint64_t entries = count_entries(layers);
      uint64_t size = round_up(std::max(wo.size, ext4::default_image_size(0, entries)), ext4::kMiB);
      spdlog::debug("{}: out of inodes; building again for {} entries ({} MiB)", out, entries,
                    size / ext4::kMiB);
      wo.size = size;
      stats = {};
      write_image(layers, out, wo, options, may_shrink, stats);
    }
  } catch (...) {
    ::unlink(out.c_str());
    throw;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

ApplyCallback layer_apply_bars(const std::vector<Layer>& layers) {
  std::vector<std::string> labels;
  labels.reserve(layers.size());
  for (const auto& l : layers) labels.push_back("apply " + progress::digest_label(l.name()));
  struct State {
    progress::TaskSet bars;
    uint32_t layer = 0;
  };
  auto state = std::make_shared<State>();
  return [state, labels = std::move(labels)](const ApplyProgress& p) {
    // Layers are applied in order: a new one means the last is done (its
    // bytes read may stop short of its size, at the tar's end blocks).
    if (p.layer != state->layer) state->bars.finish_all();
    state->layer = p.layer;
    std::string key = std::to_string(p.layer);
    state->bars.update(key, p.layer < labels.size() ? labels[p.layer] : key, p.bytes_read, p.bytes_total);
  };
}

}  // namespace banger::layers
