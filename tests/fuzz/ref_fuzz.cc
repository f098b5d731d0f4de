// Fuzzes image reference parsing (a user's text, or a name a registry sent
// back): a ref that parses prints to a form that parses to the same ref.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/core/error.h"
#include "host/oci/ref.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  banger::oci::Ref ref;
  try {
    ref = banger::oci::parse_ref(text);
  } catch (const banger::Error&) {
    return 0;
  }
  if (!(banger::oci::parse_ref(ref.to_string()) == ref)) abort();
  (void)banger::oci::is_loopback_host(ref.registry);
  return 0;
}
