// Where tap networking lives on the host: the bridge, banger's own nftables
// tables, the tap name prefix and the subnet. One value passed to every call,
// so tests run beside a real installation with names of their own.
#pragma once

#include <string>
#include <vector>

#include "host/net/addressing.h"

namespace banger::net {

struct Config {
  std::string bridge = "banger0";
  // nftables: `table inet TABLE` (NAT, guest -> host filter) and
  // `table bridge TABLE` (per-tap anti-spoofing). banger touches no other table.
  std::string table = "banger";
  // Taps are PREFIX... (see tap_name); reconcile only looks at these.
  std::string tap_prefix = "bg-";
  Subnet subnet = parse_subnet("10.77.0.0/24");
  // Name servers written into the guest's kernel command line.
  std::vector<std::string> dns;
  // Which installation ($BANGER_HOME) owns a tap or rule: taps are labelled
  // "banger:OWNER:VM:IP" and rules "vm=OWNER:VM", and reconcile only removes
  // its own installation's. Two installations may share a bridge, but never
  // an address (setup_tap refuses).
  std::string owner = "default";
  // Serialises setup/teardown/reconcile between banger processes: of every
  // installation on the host (they may share a bridge, and they choose
  // their subnets against each other).
  std::string lock_path;
  // Chosen per installation (neither BANGER_SUBNET nor BANGER_BRIDGE set):
  // see auto_net.h. `slot` is the chosen one, -1 while none was chosen yet;
  // the choice is kept in `choice_path` ($BANGER_HOME/net.json).
  bool automatic = false;
  int slot = -1;
  std::string choice_path;
  // Turn on net.ipv4.ip_forward when a tap is set up (NAT needs it).
  bool enable_forwarding = true;
};

// The installation's config: BANGER_SUBNET and BANGER_BRIDGE force a network
// (either one set: the other defaults to 10.77.0.0/24 / banger0); with
// neither, the network this installation chose (auto_net.h), or slot 0's
// until it has chosen. BANGER_DNS (comma-separated; default: the
// non-loopback name servers of /etc/resolv.conf). The lock is host-wide
// (/run/lock/banger-net.lock; $BANGER_HOME/net.lock where /run/lock is not
// writable). Another bridge name makes a separate network: its tables are
// banger_BRIDGE and its taps bXXXX- (XXXX a hash of the bridge name). The
// owner is "h" + a hash of $BANGER_HOME.
Config config_from_env();

// Names derived from a bridge: banger0 keeps the original "banger" tables
// and "bg-" taps; another gets banger_BRIDGE and bXXXX-.
void use_bridge(Config& c, const std::string& bridge);

// Automatic network `slot`: bridge bangerN with 10.77.N.0/24 (N in 0..255).
void use_slot(Config& c, int slot);
inline constexpr int kSlots = 256;

// The non-loopback `nameserver` entries of a resolv.conf text.
std::vector<std::string> nameservers(const std::string& resolv_conf);

}  // namespace banger::net
