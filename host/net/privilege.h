// Whether this process may do tap networking: root or CAP_NET_ADMIN.
#pragma once

#include <string>

namespace banger::net {

// CAP_NET_ADMIN (bit 12) in the CapEff line of /proc/self/status.
bool privileged();
// Parses a /proc/PID/status text; false when there is no CapEff line.
bool has_net_admin(const std::string& proc_status);
// "tap" when privileged and both `ip` and `nft` are installed, else "user".
std::string default_mode();

}  // namespace banger::net
