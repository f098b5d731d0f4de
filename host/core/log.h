// Logging goes through spdlog to stderr. Quiet by default (warnings and
// errors); -v turns on debug logs.
#pragma once

#include <spdlog/spdlog.h>

namespace banger {

void init_logging(bool verbose);

}  // namespace banger
