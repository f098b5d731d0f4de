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
  // Serialises setup/teardown/reconcile between banger processes.
  std::string lock_path;
  // Turn on net.ipv4.ip_forward when a tap is set up (NAT needs it).
  bool enable_forwarding = true;
};

// The installation's config: BANGER_SUBNET (default 10.77.0.0/24),
// BANGER_BRIDGE (default banger0), BANGER_DNS (comma-separated; default: the
// non-loopback name servers of /etc/resolv.conf), lock under $BANGER_HOME.
// Another bridge name makes a separate network (for tests beside a real
// installation): its tables are banger_BRIDGE and its taps bXXXX- (XXXX a
// hash of the bridge name). The owner is "h" + a hash of $BANGER_HOME.
Config config_from_env();

// The non-loopback `nameserver` entries of a resolv.conf text.
std::vector<std::string> nameservers(const std::string& resolv_conf);

}  // namespace banger::net
