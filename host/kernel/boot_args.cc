#include "host/kernel/boot_args.h"

#include "host/core/tsc.h"

namespace banger::kernel {

std::vector<std::string> tcg_boot_args() {
  uint64_t khz = host_tsc_khz();
  if (khz == 0) return {};
  return {"tsc_early_khz=" + std::to_string(khz)};
}

}  // namespace banger::kernel
