// Fuzzes tar entry name cleaning, which keeps every layer entry inside the
// image: a cleaned name is relative, has no "." or ".." component and no
// empty one, and cleaning it again changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "host/core/error.h"
#include "host/layers/tar_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view name(reinterpret_cast<const char*>(data), size);
  std::string clean;
  try {
    clean = banger::layers::clean_tar_path(name);
  } catch (const banger::Error&) {
    return 0;
  }
  if (clean.empty()) return 0;
  if (clean.front() == '/' || clean.back() == '/') abort();
  size_t start = 0;
  for (;;) {
    size_t end = clean.find('/', start);
    std::string_view part =
        std::string_view(clean).substr(start, end == std::string::npos ? end : end - start);
    if (part.empty() || part == "." || part == "..") abort();
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (banger::layers::clean_tar_path(clean) != clean) abort();
  return 0;
}
