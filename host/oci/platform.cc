#include "host/oci/platform.h"

#include <vector>

#include "host/core/error.h"

namespace banger::oci {

std::string Platform::to_string() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform normalize_platform(Platform p) {
  if (p.architecture == "x86_64" || p.architecture == "x86-64") p.architecture = "amd64";
  if (p.architecture == "aarch64") p.architecture = "arm64";
  if (p.architecture == "armhf") {
    p.architecture = "arm";
    if (p.variant.empty()) p.variant = "v7";
  }
  if (p.architecture == "armel") {
    p.architecture = "arm";
    if (p.variant.empty()) p.variant = "v6";
  }
  if (p.architecture == "arm64" && p.variant.empty()) p.variant = "v8";
  return p;
}

Platform parse_platform(std::string_view text) {
  Platform p;
  p.variant.clear();
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(
        text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos || parts.size() > 3) break;
    start = slash + 1;
  }
  int n = static_cast<int>(parts.size());
  bool ok = (n == 2 || n == 3);
  for (int i = 0; ok && i < n; i++) {
    if (parts[i].empty()) ok = false;
    for (char c : parts[i])
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) ok = false;
  }
  if (!ok)
    fail(ErrorKind::invalid_input, "invalid platform \"" + std::string(text.substr(0, 100)) + "\"",
         "a platform is os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8");
  p.os = parts[0];
  p.architecture = parts[1];
  if (n == 3) p.variant = parts[2];
  return normalize_platform(p);
}

bool platform_matches(const Platform& want, const Platform& have) {
  Platform w = normalize_platform(want), h = normalize_platform(have);
  if (w.os != h.os || w.architecture != h.architecture) return false;
  return w.variant.empty() || w.variant == h.variant;
}

}  // namespace banger::oci
