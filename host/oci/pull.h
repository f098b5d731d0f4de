// oci::pull: a ref -> the image's manifest, config and layers in the blob
// cache, every byte verified. Registry refs download (in parallel, resumable);
// oci:DIR, oci-archive: and docker-archive: copy their blobs into the cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/oci/manifest.h"
#include "host/oci/platform.h"
#include "host/oci/ref.h"
#include "host/oci/registry.h"

namespace banger::oci {

struct PulledLayer {
  std::string digest;
  int64_t size = 0;
  std::string media_type;
  Compression compression = Compression::none;
  std::filesystem::path path;  // in the blob cache
  // The config's rootfs.diff_ids entry: the digest of the uncompressed tar,
  // checked when the layer is applied (host/layers). Empty if the config
  // has none.
  std::string diff_id;
};

struct PulledImage {
  Ref ref;
  std::string manifest_digest;  // the image manifest (for an index: the chosen platform's)
  std::string manifest_media_type;
  std::string index_digest;  // the index / manifest list it was chosen from, if any
  std::string config_digest;
  nlohmann::json config;
  Platform platform;  // from the config
  std::vector<PulledLayer> layers;
  // What this pull transferred: 0 bytes when everything was cached.
  int64_t downloaded_bytes = 0;
  int downloaded_blobs = 0;
};

// Called on the pulling thread (never from a download thread), at most every
// ~100 ms per layer and once when a layer completes.
using ProgressFn = std::function<void(const std::string& digest, int64_t done, int64_t total)>;

// Progress drawn by host/core/progress: a bar per layer download, labelled
// with its short digest, each ending when its layer is complete.
ProgressFn layer_download_bars();

struct PullOptions {
  std::filesystem::path cache_dir;  // holds blobs/sha256/
  // The platform to choose from an index; strict. Default linux/amd64.
  std::optional<Platform> platform;
  RegistryConfig config;
  ProgressFn progress;
  int parallel = 4;                                          // layer downloads at once
  std::chrono::milliseconds timeout{std::chrono::hours(1)};  // the whole pull
  RetryPolicy retry;
  // Called with the verified manifest before any layer is downloaded (or
  // copied): a check that throws stops the pull there (a --size that
  // cannot hold the image).
  std::function<void(const Manifest&)> before_layers;
};

// Errors carry the ref: "pulling 127.0.0.1:5000/a:b: manifest unknown".
PulledImage pull(const Ref& ref, const PullOptions& options);
PulledImage pull(std::string_view ref, const PullOptions& options);

// The parts shared by the registry and the local sources.
namespace detail {
// Builds the result from a verified manifest and config, checking the config
// and the platform (strict when one was asked for).
PulledImage make_image(const Ref& ref, const std::string& manifest_digest, const Manifest& manifest,
                       const std::string& config_body, const PullOptions& options, std::string_view what);
// oci:DIR, oci-archive:FILE and docker-archive:FILE (layout.cc).
PulledImage pull_local(const Ref& ref, const PullOptions& options);
}  // namespace detail

}  // namespace banger::oci
