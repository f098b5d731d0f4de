// Platforms ("linux/amd64", "linux/arm64/v8") and the choice of one manifest
// from an image index / manifest list.
#pragma once

#include <string>
#include <string_view>

namespace banger::oci {

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;

  std::string to_string() const;  // "linux/arm/v7"
  bool operator==(const Platform&) const = default;
};

// Parses "os/arch[/variant]" (arch aliases: x86_64 -> amd64, aarch64 -> arm64).
// Throws invalid_input naming the text.
Platform parse_platform(std::string_view text);

// Normalises aliases and the default variants (arm64 -> v8).
Platform normalize_platform(Platform p);

// True if `have` satisfies `want`: same os and architecture, and the same
// variant when `want` names one.
bool platform_matches(const Platform& want, const Platform& have);

}  // namespace banger::oci
