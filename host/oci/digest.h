// Content digests: "sha256:" + 64 lowercase hex. A digest string from a
// registry or a file becomes a cache path only after validate_digest().
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "host/core/sha256.h"

namespace banger::oci {

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_valid_digest(std::string_view digest);
// Throws invalid_input naming `what` ("manifest layer 2") unless valid.
void validate_digest(std::string_view digest, std::string_view what);
// The 64 hex digits of a valid digest.
std::string_view digest_hex(std::string_view digest);

// SHA-256 itself lives in host/core (one implementation for every area).
using banger::Sha256;
using banger::sha256_digest;
using banger::sha256_file;

}  // namespace banger::oci
