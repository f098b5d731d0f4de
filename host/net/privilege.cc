#include "host/net/privilege.h"

#include <sstream>

#include "host/core/fs.h"
#include "host/core/process.h"

namespace banger::net {

bool has_net_admin(const std::string& status) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    unsigned long long caps = 0;
    try {
      caps = std::stoull(line.substr(7), nullptr, 16);
    } catch (const std::exception&) {
      return false;
    }
    constexpr int kCapNetAdmin = 12;
    return (caps >> kCapNetAdmin) & 1;
  }
  return false;
}

bool privileged() {
  try {
    return has_net_admin(fs::read_file("/proc/self/status"));
  } catch (const std::exception&) {
    return false;
  }
}

std::string default_mode() {
  if (privileged() && find_executable("ip") && find_executable("nft") && fs::exists("/dev/net/tun"))
    return "tap";
  return "user";
}

}  // namespace banger::net
