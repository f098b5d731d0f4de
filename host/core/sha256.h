// SHA-256, the one implementation (OpenSSL EVP) every area uses: OCI blob
// digests, kernel archive checks, layer diff_ids. Results are
// "sha256:<64 lowercase hex>".
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace banger {

// Incremental SHA-256.
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
// Hashes a whole file (io error naming it if unreadable).
std::string sha256_file(const std::filesystem::path& path);

}  // namespace banger
