#include "host/oci/manifest.h"

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/oci/digest.h"

namespace banger::oci {

using nlohmann::json;

const char* const kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
  }
  return "none";
}

Compression layer_compression(std::string_view mt) {
  static const struct {
    std::string_view type;
    Compression c;
  } kTypes[] = {
      {media::kOciLayerTar, Compression::none},
      {media::kOciLayerGzip, Compression::gzip},
      {media::kOciLayerZstd, Compression::zstd},
      {media::kDockerLayerGzip, Compression::gzip},
      {"application/vnd.docker.image.rootfs.diff.tar", Compression::none},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::zstd},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression::gzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::none},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::gzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::zstd},
  };
  for (const auto& t : kTypes)
    if (t.type == mt) return t.c;
  fail(ErrorKind::unsupported, "unsupported layer media type \"" + std::string(mt.substr(0, 200)) + "\"",
       "banger reads tar layers that are uncompressed, gzip or zstd compressed");
}

json parse_json(std::string_view body, std::string_view what) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    fail(ErrorKind::invalid_input, std::string(what) + ": not a JSON object",
         "the registry or file served something that is not an OCI/docker manifest");
  return doc;
}

namespace {

[[noreturn]] void malformed(std::string_view what, std::string_view detail) {
  fail(ErrorKind::invalid_input, std::string(what) + ": malformed: " + std::string(detail),
       "the manifest does not follow the OCI image spec");
}

std::string get_string(const json& obj, const char* key, std::string_view what, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) malformed(what, std::string("missing \"") + key + "\"");
    return {};
  }
  if (!it->is_string()) malformed(what, std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

Descriptor parse_descriptor(const json& d, std::string_view what) {
  if (!d.is_object()) malformed(what, "descriptor is not an object");
  Descriptor out;
  out.media_type = get_string(d, "mediaType", what, false);
  out.digest = get_string(d, "digest", what, true);
  validate_digest(out.digest, what);
  auto size = d.find("size");
  if (size == d.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
    malformed(what, "missing or invalid \"size\"");
  out.size = size->get<int64_t>();
  auto p = d.find("platform");
  if (p != d.end() && p->is_object()) {
    Platform pl;
    pl.os = get_string(*p, "os", what, true);
    pl.architecture = get_string(*p, "architecture", what, true);
    pl.variant = get_string(*p, "variant", what, false);
    out.platform = pl;
  }
  return out;
}

}  // namespace

bool is_index(const json& doc, std::string_view content_type) {
  std::string mt = doc.contains("mediaType") && doc["mediaType"].is_string()
                       ? doc["mediaType"].get<std::string>()
                       : std::string(content_type);
  if (size_t semi = mt.find(';'); semi != std::string::npos) mt.resize(semi);
  if (mt == media::kOciIndex || mt == media::kDockerList) return true;
  if (mt == media::kOciManifest || mt == media::kDockerManifest) return false;
  // The OCI spec lets mediaType be absent: decide by shape.
  if (mt.empty() || mt == "application/json") {
    if (doc.contains("manifests")) return true;
    if (doc.contains("layers") && doc.contains("config")) return false;
  }
  if (doc.contains("schemaVersion") && doc["schemaVersion"] == 1)
    fail(ErrorKind::unsupported, "docker schema 1 manifests are not supported",
         "push the image again with a current tool (docker, skopeo, buildah) to get a v2 or OCI manifest");
  fail(ErrorKind::unsupported, "unsupported manifest media type \"" + mt.substr(0, 200) + "\"",
       "banger pulls OCI and docker v2 images");
}

Manifest parse_manifest(const json& doc, std::string_view what) {
  Manifest m;
  m.media_type = get_string(doc, "mediaType", what, false);
  if (m.media_type.empty()) m.media_type = media::kOciManifest;
  auto cfg = doc.find("config");
  if (cfg == doc.end()) malformed(what, "missing \"config\"");
  m.config = parse_descriptor(*cfg, std::string(what) + " config");
  auto layers = doc.find("layers");
  if (layers == doc.end() || !layers->is_array()) malformed(what, "missing \"layers\"");
  int i = 0;
  for (const auto& l : *layers) {
    Descriptor d = parse_descriptor(l, std::string(what) + " layer " + std::to_string(++i));
    layer_compression(d.media_type);  // unsupported types fail here, before any download
    m.layers.push_back(std::move(d));
  }
  return m;
}

Index parse_index(const json& doc, std::string_view what) {
  Index idx;
  idx.media_type = get_string(doc, "mediaType", what, false);
  if (idx.media_type.empty()) idx.media_type = media::kOciIndex;
  auto ms = doc.find("manifests");
  if (ms == doc.end() || !ms->is_array()) malformed(what, "missing \"manifests\"");
  int i = 0;
  for (const auto& m : *ms)
    idx.manifests.push_back(parse_descriptor(m, std::string(what) + " entry " + std::to_string(++i)));
  return idx;
}

const Descriptor& choose_platform(const Index& index, const Platform& want) {
  // Exact variant first, then the first entry that satisfies `want`.
  Platform w = normalize_platform(want);
  for (const auto& d : index.manifests)
    if (d.platform && normalize_platform(*d.platform) == w) return d;
  for (const auto& d : index.manifests)
    if (d.platform && platform_matches(w, *d.platform)) return d;
  std::string available;
  for (const auto& d : index.manifests) {
    if (!d.platform || d.platform->os == "unknown") continue;  // attestations
    if (!available.empty()) available += ", ";
    available += d.platform->to_string();
  }
  if (available.empty()) available = "none";
  fail(ErrorKind::not_found, "no image for platform " + want.to_string() + " (available: " + available + ")",
       "choose one of the available platforms with --platform");
}

}  // namespace banger::oci
