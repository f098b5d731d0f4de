// Git's blob id: SHA-1 over "blob <size>\0" and the contents. The manifest
// records it for every file that goes into a workspace, so what comes back
// is compared (and, for a repository, committed) by content.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace banger::workspace {

class GitBlobHash {
 public:
  explicit GitBlobHash(uint64_t size);
  ~GitBlobHash();
  GitBlobHash(const GitBlobHash&) = delete;
  GitBlobHash& operator=(const GitBlobHash&) = delete;
  void update(const void* data, size_t len);
  // 40 lowercase hex digits.
  std::string finish();

 private:
  void* ctx_;
};

std::string git_blob_id(std::string_view contents);

// True for 40 lowercase hex digits (a SHA-1 object id).
bool is_object_id(std::string_view text);

}  // namespace banger::workspace
