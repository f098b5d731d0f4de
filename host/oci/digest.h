// Content digests: "sha256:" + 64 lowercase hex. A digest string from a
// registry or a file becomes a cache path only after validate_digest().
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace banger::oci {

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_valid_digest(std::string_view digest);
// Throws invalid_input naming `what` ("manifest layer 2") unless valid.
void validate_digest(std::string_view digest, std::string_view what);
// The 64 hex digits of a valid digest.
std::string_view digest_hex(std::string_view digest);

// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>"; the hasher is reset afterwards.
  std::string finish();
  void reset();

 private:
  void* ctx_;
};

std::string sha256_digest(std::string_view data);
// Hashes a whole file (io error if unreadable).
std::string sha256_file(const std::filesystem::path& path);

}  // namespace banger::oci
