#include "host/net/tap.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/lock.h"
#include "host/core/vm_name.h"
#include "host/net/firewall.h"
#include "host/net/link.h"
#include "host/net/privilege.h"

namespace banger::net {

namespace {

const std::string kAliasPrefix = "banger:";

// A banger tap's label (its IFLA_IFALIAS): "banger:OWNER:VM:IP".
struct Label {
  std::string owner, vm, ip;
};

std::string make_label(const Config& cfg, const std::string& vm, const std::string& ip) {
  return kAliasPrefix + cfg.owner + ":" + vm + ":" + ip;
}

std::optional<Label> parse_label(const std::string& alias) {
  if (alias.rfind(kAliasPrefix, 0) != 0) return std::nullopt;
  std::string rest = alias.substr(kAliasPrefix.size());
  size_t a = rest.find(':'), b = rest.rfind(':');
  if (a == std::string::npos || a == b) return std::nullopt;
  return Label{rest.substr(0, a), rest.substr(a + 1, b - a - 1), rest.substr(b + 1)};
}

void require_privilege() {
  if (!privileged())
    fail(ErrorKind::unsupported, "tap networking needs root or CAP_NET_ADMIN",
         "run banger as root, or use --net user");
}

// The lock serialising every change to banger's bridge, taps and tables.
class NetLock {
 public:
  explicit NetLock(const Config& cfg) {
    if (cfg.lock_path.empty()) return;
    size_t slash = cfg.lock_path.rfind('/');
    if (slash != std::string::npos && slash > 0) fs::make_dirs(cfg.lock_path.substr(0, slash));
    lock_.emplace(cfg.lock_path, "banger's network setup");
  }

 private:
  std::optional<FileLock> lock_;
};

void check_bridge_name(const std::string& name) {
  if (name.empty() || name.size() > 15 || name.find_first_of("/: \t") != std::string::npos)
    fail(ErrorKind::invalid_input, "bridge name '" + name + "' is not valid",
         "use at most 15 characters without '/', ':' or spaces (BANGER_BRIDGE)");
}

// A route on another link that overlaps the subnet means the addresses are
// taken (a LAN, a VPN, docker...): fail instead of breaking the host's routing.
void check_no_overlap(const Config& cfg) {
  for (const auto& r : ipv4_routes()) {
    if (r.dev == cfg.bridge || r.dst == "default" || r.dst.empty()) continue;
    std::string dst = r.dst.find('/') == std::string::npos ? r.dst + "/32" : r.dst;
    size_t slash = dst.find('/');
    uint32_t addr = 0;
    if (!parse_ipv4(dst.substr(0, slash), &addr)) continue;
    int prefix = std::stoi(dst.substr(slash + 1));
    int common = std::min(prefix, cfg.subnet.prefix);
    uint32_t mask = common == 0 ? 0 : ~0u << (32 - common);
    if ((addr & mask) == (cfg.subnet.network & mask))
      fail(ErrorKind::conflict,
           "banger's subnet " + cfg.subnet.cidr() + " overlaps " + r.dst + " on " + r.dev,
           "set BANGER_SUBNET to a free private subnet, e.g. BANGER_SUBNET=10.78.0.0/24");
  }
}

void ensure_bridge_locked(const Config& cfg) {
  check_bridge_name(cfg.bridge);
  const std::string gw = cfg.subnet.gateway() + "/" + std::to_string(cfg.subnet.prefix);
  auto link = find_link(cfg.bridge);
  if (!link) {
    check_no_overlap(cfg);
    spdlog::info("creating bridge {} ({})", cfg.bridge, gw);
    create_bridge(cfg.bridge, mac_address("bridge:" + cfg.bridge));
    link = find_link(cfg.bridge);
  } else if (link->kind != "bridge") {
    fail(ErrorKind::conflict, "link " + cfg.bridge + " exists and is not a bridge",
         "delete it (ip link delete " + cfg.bridge + ") or set BANGER_BRIDGE to another name");
  }
  auto addrs = ipv4_addresses(cfg.bridge);
  if (std::find(addrs.begin(), addrs.end(), gw) == addrs.end()) add_address(cfg.bridge, gw);
  if (link && !link->up) set_up(cfg.bridge);
}

void enable_forwarding(const Config& cfg) {
  if (!cfg.enable_forwarding) return;
  const char* path = "/proc/sys/net/ipv4/ip_forward";
  std::string v = fs::exists(path) ? fs::read_file(path) : "";
  if (!v.empty() && v[0] == '1') return;
  spdlog::info("turning on net.ipv4.ip_forward (NAT for banger's VMs needs it)");
  fs::write_file(path, "1\n");
}

// Links on our bridge; when none is left, the bridge and the tables go.
void remove_shared_if_unused(const Config& cfg) {
  bool bridge_exists = false;
  for (const auto& l : list_links()) {
    if (l.master == cfg.bridge) return;
    if (l.name == cfg.bridge) bridge_exists = true;
  }
  if (any_vm_rules(cfg)) return;
  spdlog::info("no VM left on {}: removing it and banger's nftables tables", cfg.bridge);
  delete_tables(cfg);
  if (bridge_exists) delete_link(cfg.bridge);
}

}  // namespace

void ensure_bridge(const Config& cfg) {
  require_privilege();
  NetLock lock(cfg);
  ensure_bridge_locked(cfg);
  ensure_tables(cfg);
}

std::string TapSetup::dns_list() const {
  std::string joined;
  for (const auto& d : dns) joined += (joined.empty() ? "" : ",") + d;
  return joined;
}

TapSetup describe_tap(const Config& cfg, const std::string& name, long long index) {
  check_vm_name(name);
  TapSetup t;
  t.tap = tap_name(cfg.tap_prefix, name);
  t.mac = mac_address(name);
  t.ip = cfg.subnet.address(index);
  t.gateway = cfg.subnet.gateway();
  t.prefix = cfg.subnet.prefix;
  t.dns = cfg.dns;
  return t;
}

TapSetup setup_tap(const Config& cfg, const std::string& name, long long index) {
  TapSetup t = describe_tap(cfg, name, index);
  require_privilege();
  NetLock lock(cfg);
  ensure_bridge_locked(cfg);
  ensure_tables(cfg);
  const std::string label = make_label(cfg, name, t.ip);
  std::optional<Link> link;
  for (auto& l : list_links()) {
    if (l.name == t.tap) {
      link = l;
      continue;
    }
    // Another banger installation on this bridge holding the same address.
    auto other = parse_label(l.alias);
    if (other && l.master == cfg.bridge && other->ip == t.ip)
      fail(ErrorKind::conflict,
           "address " + t.ip + " for VM " + name + " is in use by VM '" + other->vm + "' (tap " + l.name +
               ") of another banger installation",
           "give each banger installation (BANGER_HOME) its own BANGER_SUBNET and BANGER_BRIDGE");
  }
  if (link && !link->alias.empty() && link->alias != label)
    fail(ErrorKind::conflict, "tap " + t.tap + " for VM " + name + " is in use by '" + link->alias + "'",
         "rename the VM, or remove the other one");
  if (!link) create_tap(t.tap, static_cast<unsigned>(geteuid()));
  try {
    if (!link || link->alias.empty()) set_alias(t.tap, label);
    attach_up(t.tap, cfg.bridge);
    remove_vm_rules(cfg, name);
    add_vm_rules(cfg, name, t.tap, t.mac, t.ip);
    enable_forwarding(cfg);
  } catch (...) {
    // Leave nothing half-made behind.
    try {
      remove_vm_rules(cfg, name);
      delete_link(t.tap);
    } catch (const std::exception& e) {
      spdlog::warn("cleaning up tap {}: {}", t.tap, e.what());
    }
    throw;
  }
  spdlog::debug("tap {} for VM {}: {} {}", t.tap, name, t.ip, t.mac);
  return t;
}

void allow_host_port(const Config& cfg, const std::string& name, long long index, int port,
                     const std::string& proto) {
  check_vm_name(name);
  std::string ip = cfg.subnet.address(index);
  require_privilege();
  NetLock lock(cfg);
  if (!tables_exist(cfg))
    fail(ErrorKind::invalid_input, "VM " + name + " has no tap networking set up",
         "allow host ports after the VM's tap is set up");
  add_allow_rule(cfg, name, ip, proto, port);
}

void set_egress(const Config& cfg, const std::string& name, long long index, const EgressPolicy& policy,
                const DnsRelay& relay) {
  check_vm_name(name);
  require_privilege();
  NetLock lock(cfg);
  if (!tables_exist(cfg))
    fail(ErrorKind::invalid_input, "VM " + name + " has no tap networking set up",
         "set the egress policy after the VM's tap is set up");
  set_egress_rules(cfg, name, cfg.subnet.address(index), policy, relay);
}

bool teardown(const Config& cfg, const std::string& name) {
  check_vm_name(name);
  require_privilege();
  NetLock lock(cfg);
  bool removed = remove_vm_rules(cfg, name) > 0;
  std::string tap = tap_name(cfg.tap_prefix, name);
  if (auto link = find_link(tap)) {
    auto label = parse_label(link->alias);
    // Only this installation's tap (or an unlabelled one of the VM's name).
    if (link->alias.empty() || (label && label->owner == cfg.owner && label->vm == name))
      removed = delete_link(tap) || removed;
  }
  remove_shared_if_unused(cfg);
  return removed;
}

std::vector<std::string> reconcile(const Config& cfg, const std::vector<std::string>& known) {
  return reconcile(cfg, known, [](const std::string&) { return false; });
}

std::vector<std::string> reconcile(const Config& cfg, const std::vector<std::string>& known,
                                   const std::function<bool(const std::string&)>& alive) {
  // An installation that never chose its network has nothing on the host.
  if (cfg.automatic && cfg.slot < 0) return {};
  require_privilege();
  NetLock lock(cfg);
  std::set<std::string> keep(known.begin(), known.end());
  std::set<std::string> gone;
  auto links = list_links();
  // The common case, run by every banger command: nothing of ours exists.
  bool ours = false;
  for (const auto& l : links)
    if (l.name == cfg.bridge || (l.name.rfind(cfg.tap_prefix, 0) == 0 && l.alias.rfind(kAliasPrefix, 0) == 0))
      ours = true;
  if (!ours && !any_table_exists(cfg)) return {};
  for (const auto& l : links) {
    if (l.name.rfind(cfg.tap_prefix, 0) != 0) continue;
    auto label = parse_label(l.alias);
    if (!label || label->owner != cfg.owner) continue;
    const std::string& vm = label->vm;
    if (keep.count(vm) || alive(vm)) continue;
    spdlog::info("reconcile: removing tap {} of VM {} (gone)", l.name, vm);
    delete_link(l.name);
    gone.insert(vm);
  }
  for (const auto& vm : rule_owners(cfg)) {
    if (keep.count(vm) || alive(vm)) continue;
    spdlog::info("reconcile: removing nftables rules of VM {} (gone)", vm);
    remove_vm_rules(cfg, vm);
    gone.insert(vm);
  }
  remove_shared_if_unused(cfg);
  return {gone.begin(), gone.end()};
}

}  // namespace banger::net
