// Fetching a kernel archive by URL (libcurl) and checking its sha256.
#pragma once

#include <string>

namespace banger::kernel {

// Downloads `url` to `dest` and checks that its sha256 is `sha256` (lowercase
// hex). A mismatch deletes `dest` and is an invalid_input error naming both
// digests; HTTP and transport failures are network errors. file:// URLs work
// too (tests, local mirrors).
void download_verified(const std::string& url, const std::string& sha256, const std::string& dest);

// The lowercase hex sha256 of a file.
std::string sha256_file(const std::string& path);

}  // namespace banger::kernel
