#include "host/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace banger {

void init_logging(bool verbose) {
  auto logger = spdlog::stderr_color_mt("banger");
  logger->set_pattern(verbose ? "%^[%H:%M:%S.%e %l]%$ %v" : "%^%l:%$ %v");
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace banger
