// Fuzzes what a registry answers for a manifest: JSON parsing, telling an
// index from a manifest, reading either, and choosing a platform. Each may
// refuse with banger's error; none may crash.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/oci/manifest.h"
#include "host/oci/platform.h"  // Platform{}: linux/amd64

using namespace banger;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    nlohmann::json doc = oci::parse_json(body, "fuzz manifest");
    if (oci::is_index(doc, "")) {
      oci::Index index = oci::parse_index(doc, "fuzz index");
      (void)oci::choose_platform(index, oci::Platform{});
    } else {
      oci::Manifest m = oci::parse_manifest(doc, "fuzz manifest");
      for (const auto& l : m.layers) (void)oci::layer_compression(l.media_type);
    }
  } catch (const Error&) {
  }
  return 0;
}
