#include "host/net/auto_net.h"

#include <unistd.h>

#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/lock.h"
#include "host/core/paths.h"
#include "host/net/privilege.h"

namespace banger::net {

namespace {

bool overlaps(const std::string& dst, const Subnet& subnet) {
  if (dst == "default" || dst.empty()) return false;
  std::string d = dst.find('/') == std::string::npos ? dst + "/32" : dst;
  size_t slash = d.find('/');
  uint32_t addr = 0;
  if (!parse_ipv4(d.substr(0, slash), &addr)) return false;
  int prefix = std::stoi(d.substr(slash + 1));
  int common = std::min(prefix, subnet.prefix);
  uint32_t mask = common == 0 ? 0 : ~0u << (32 - common);
  return (addr & mask) == (subnet.network & mask);
}

bool free_for(const Config& cfg, int slot, const std::string& home, const NetView& view) {
  Config c = cfg;
  use_slot(c, slot);
  for (const auto& [s, owner] : view.claims)
    if (s == slot && owner != home) return false;
  bool ours_claimed = false;
  for (const auto& [s, owner] : view.claims) ours_claimed = ours_claimed || (s == slot && owner == home);
  bool bridge_exists = false, our_taps = false;
  for (const auto& l : view.links) {
    if (l.name == c.bridge) bridge_exists = true;
    if (l.master == c.bridge && l.alias.rfind("banger:" + cfg.owner + ":", 0) == 0) our_taps = true;
  }
  bool bridge_ours = !bridge_exists || ours_claimed || our_taps;
  if (!bridge_ours) return false;
  for (const auto& r : view.routes)
    if (r.dev != c.bridge && overlaps(r.dst, c.subnet)) return false;
  return true;
}

// Live claims: a claim whose home is gone, or whose home now names another
// slot in its net.json, is stale (and removed).
std::vector<std::pair<int, std::string>> read_claims() {
  std::vector<std::pair<int, std::string>> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(claims_dir(), ec)) {
    std::string f = e.path().filename();
    if (f.rfind("slot-", 0) != 0) continue;
    int slot = std::atoi(f.c_str() + 5);
    std::string home;
    try {
      home = fs::read_file(e.path());
    } catch (const Error&) {
      continue;
    }
    while (!home.empty() && home.back() == '\n') home.pop_back();
    bool live = false;
    try {
      std::string choice = home + "/net.json";
      if (fs::exists(choice)) {
        auto j = nlohmann::json::parse(fs::read_file(choice), nullptr, false);
        live = j.is_object() && j.value("slot", -1) == slot;
      }
    } catch (const std::exception&) {
    }
    if (live) {
      out.push_back({slot, home});
    } else {
      ::unlink(e.path().c_str());
    }
  }
  return out;
}

}  // namespace

std::string claims_dir() { return "/run/lock/banger-net"; }

int choose_slot(const Config& cfg, const std::string& home, const NetView& view) {
  if (cfg.slot >= 0 && free_for(cfg, cfg.slot, home, view)) return cfg.slot;
  for (int s = 0; s < kSlots; s++)
    if (free_for(cfg, s, home, view)) return s;
  return -1;
}

Config settle_network(const Config& cfg) {
  // Unprivileged, setup_tap refuses with the reason; choosing is moot.
  if (!cfg.automatic || !privileged()) return cfg;
  std::optional<FileLock> lock;
  if (!cfg.lock_path.empty()) lock.emplace(cfg.lock_path, "banger's network setup");
  const std::string home = paths::home();
  NetView view{list_links(), ipv4_routes(), read_claims()};
  int slot = choose_slot(cfg, home, view);
  if (slot < 0)
    fail(ErrorKind::conflict, "no free subnet in 10.77.0.0/16 for this installation's tap network",
         "set BANGER_SUBNET and BANGER_BRIDGE to a free subnet and a bridge name of its own");
  Config c = cfg;
  use_slot(c, slot);
  if (slot != cfg.slot) {
    if (cfg.slot >= 0)
      spdlog::warn(
          "subnet 10.77.{}.0/24 is now used by another banger installation or network: this one moves "
          "to {} on {} (VM addresses change)",
          cfg.slot, c.subnet.cidr(), c.bridge);
    nlohmann::json choice = {{"slot", slot}, {"subnet", c.subnet.cidr()}, {"bridge", c.bridge}};
    fs::write_file_atomic(cfg.choice_path, choice.dump(2) + "\n", 0600);
  }
  // The claim, so that an installation choosing later leaves this slot alone
  // even while this one has no VM running (and so no bridge).
  try {
    fs::make_dirs(claims_dir(), 0755);
    fs::write_file_atomic(claims_dir() + "/slot-" + std::to_string(slot), home + "\n", 0644);
  } catch (const Error& e) {
    spdlog::debug("claiming slot {}: {}", slot, e.message());
  }
  return c;
}

}  // namespace banger::net
