#include "host/net/config.h"

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "host/core/fs.h"
#include "host/core/paths.h"

namespace banger::net {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

std::vector<std::string> nameservers(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    uint32_t a = 0;
    // IPv4 only (the guest has no IPv6 here), and never loopback: a stub
    // resolver on 127.0.0.53 is the host's own, out of a guest's reach.
    if (!parse_ipv4(value, &a) || (a >> 24) == 127) continue;
    out.push_back(value);
  }
  return out;
}

Config config_from_env() {
  Config c;
  if (auto s = env("BANGER_SUBNET"); !s.empty()) c.subnet = parse_subnet(s, "BANGER_SUBNET");
  if (auto b = env("BANGER_BRIDGE"); !b.empty() && b != c.bridge) {
    c.bridge = b;
    c.table = "banger_";
    for (char ch : b) c.table.push_back(isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
    // The tap prefix: "b" + 4 hex digits of the bridge name's hash + "-".
    c.tap_prefix = "b" + short_hash(b, 4) + "-";
  }
  if (auto d = env("BANGER_DNS"); !d.empty()) {
    c.dns = split_commas(d);
  } else if (fs::exists("/etc/resolv.conf")) {
    try {
      c.dns = nameservers(fs::read_file("/etc/resolv.conf"));
    } catch (const std::exception&) {
    }
  }
  c.lock_path = paths::home() + "/net.lock";
  c.owner = "h" + short_hash(paths::home(), 8);
  return c;
}

}  // namespace banger::net
