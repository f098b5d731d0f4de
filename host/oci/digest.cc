#include "host/oci/digest.h"

#include "host/core/error.h"

namespace banger::oci {

bool is_valid_digest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : digest.substr(kPrefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void validate_digest(std::string_view digest, std::string_view what) {
  if (is_valid_digest(digest)) return;
  std::string shown(digest.substr(0, 100));
  fail(ErrorKind::invalid_input, std::string(what) + ": invalid digest \"" + shown + "\"",
       "a digest is sha256: followed by 64 lowercase hex digits");
}

std::string_view digest_hex(std::string_view digest) { return digest.substr(7); }

}  // namespace banger::oci
