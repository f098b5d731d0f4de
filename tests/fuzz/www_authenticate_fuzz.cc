// Fuzzes a registry's WWW-Authenticate header, which decides where a token
// is asked for: parsing never crashes, and what it returns is lowercase where
// it promises to be.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/oci/challenge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  banger::oci::Challenge c = banger::oci::parse_challenge(header);
  for (char ch : c.scheme)
    if (std::isupper(static_cast<unsigned char>(ch))) abort();
  for (const auto& [key, value] : c.params)
    for (char ch : key)
      if (std::isupper(static_cast<unsigned char>(ch))) abort();
  return 0;
}
