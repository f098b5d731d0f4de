#include "host/workspace/git_blob.h"

#include <openssl/evp.h>

#include "host/core/error.h"
#include "host/workspace/tree.h"

namespace banger::workspace {

const char* git_mode(const TreeEntry& e) {
  if (e.symlink) return "120000";
  return (e.mode & 0100) ? "100755" : "100644";
}

GitBlobHash::GitBlobHash(uint64_t size) : ctx_(EVP_MD_CTX_new()) {
  auto* c = static_cast<EVP_MD_CTX*>(ctx_);
  if (!c || EVP_DigestInit_ex(c, EVP_sha1(), nullptr) != 1)
    fail(ErrorKind::internal, "SHA-1 is not available");
  std::string header = "blob " + std::to_string(size);
  EVP_DigestUpdate(c, header.data(), header.size() + 1);  // with its NUL
}

GitBlobHash::~GitBlobHash() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void GitBlobHash::update(const void* data, size_t len) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, len);
}

std::string GitBlobHash::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string git_blob_id(std::string_view contents) {
  GitBlobHash h(contents.size());
  h.update(contents.data(), contents.size());
  return h.finish();
}

bool is_object_id(std::string_view text) {
  if (text.size() != 40) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace banger::workspace
