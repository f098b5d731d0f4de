#include "host/net/config.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

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

void use_bridge(Config& c, const std::string& b) {
  c.bridge = b;
  if (b == "banger0") {
    c.table = "banger";
    c.tap_prefix = "bg-";
    return;
  }
  c.table = "banger_";
  for (char ch : b) c.table.push_back(isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  // The tap prefix: "b" + 4 hex digits of the bridge name's hash + "-".
  c.tap_prefix = "b" + short_hash(b, 4) + "-";
}

void use_slot(Config& c, int slot) {
  use_bridge(c, "banger" + std::to_string(slot));
  c.subnet = Subnet{(10u << 24) | (77u << 16) | (static_cast<uint32_t>(slot) << 8), 24};
  c.slot = slot;
}

Config config_from_env() {
  Config c;
  auto forced_subnet = env("BANGER_SUBNET"), forced_bridge = env("BANGER_BRIDGE");
  if (!forced_subnet.empty()) c.subnet = parse_subnet(forced_subnet, "BANGER_SUBNET");
  if (!forced_bridge.empty()) use_bridge(c, forced_bridge);
  c.choice_path = paths::home() + "/net.json";
  if (forced_subnet.empty() && forced_bridge.empty()) {
    c.automatic = true;
    use_slot(c, 0);
    c.slot = -1;
    try {
      if (fs::exists(c.choice_path)) {
        auto j = nlohmann::json::parse(fs::read_file(c.choice_path), nullptr, false);
        int slot = j.is_object() ? j.value("slot", -1) : -1;
        if (slot >= 0 && slot < kSlots) use_slot(c, slot);
      }
    } catch (const std::exception&) {
      // Unreadable: chosen again at the next tap setup.
    }
  }
  if (auto d = env("BANGER_DNS"); !d.empty()) {
    c.dns = split_commas(d);
  } else if (fs::exists("/etc/resolv.conf")) {
    try {
      c.dns = nameservers(fs::read_file("/etc/resolv.conf"));
    } catch (const std::exception&) {
    }
  }
  c.lock_path = access("/run/lock", W_OK) == 0 ? "/run/lock/banger-net.lock" : paths::home() + "/net.lock";
  c.owner = "h" + short_hash(paths::home(), 8);
  return c;
}

}  // namespace banger::net
