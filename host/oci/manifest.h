// OCI and docker v2 manifests and indexes (manifest lists): media types,
// strict parsing of the fields banger uses, layer compression, and the
// platform choice in an index.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/oci/platform.h"

namespace banger::oci {

namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media

// The Accept header for manifest requests: both manifest and index types.
extern const char* const kManifestAccept;

// Manifests and indexes larger than this are refused.
inline constexpr int64_t kMaxManifestSize = 4 << 20;
// Image configs larger than this are refused.
inline constexpr int64_t kMaxConfigSize = 8 << 20;

enum class Compression { none, gzip, zstd };
std::string_view compression_name(Compression c);  // "none", "gzip", "zstd"
// The compression of a layer media type; unsupported error for unknown types.
Compression layer_compression(std::string_view media_type);

struct Descriptor {
  std::string media_type;
  std::string digest;  // validated
  int64_t size = 0;
  std::optional<Platform> platform;  // index entries only
};

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

// True if the document (with its Content-Type, may be empty) is an index or
// manifest list rather than an image manifest. Throws unsupported for other
// kinds (e.g. docker schema 1).
bool is_index(const nlohmann::json& doc, std::string_view content_type);

// Parse the JSON body. Throw invalid_input naming `what` on malformed input.
nlohmann::json parse_json(std::string_view body, std::string_view what);
Manifest parse_manifest(const nlohmann::json& doc, std::string_view what);
Index parse_index(const nlohmann::json& doc, std::string_view what);

// The index entry for `want`; not_found listing the available platforms if
// none matches.
const Descriptor& choose_platform(const Index& index, const Platform& want);

}  // namespace banger::oci
