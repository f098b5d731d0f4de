// The agent as a service under the image's own systemd: when a VM boots with
// banger.init=/lib/systemd/systemd (or /sbin/init -> systemd) on the kernel
// command line, systemd is PID 1 and starts the agent from this unit. The
// default boot runs the agent as PID 1 and never reads it.
#pragma once

#include <string>

namespace banger::ext4 {
class Editor;
}

namespace banger::agents {

inline constexpr const char* kServiceUnitPath = "/etc/systemd/system/banger-agent.service";
inline constexpr const char* kServiceWantsPath =
    "/etc/systemd/system/multi-user.target.wants/banger-agent.service";

// The unit file's text.
std::string service_unit_text();

// True when /lib/systemd/systemd or /usr/lib/systemd/systemd is a regular
// file once every symlink on the way (the last one too) is resolved inside
// the image.
bool has_systemd(ext4::Editor& image);

// Where the image has systemd: writes the unit (root:root 0644) and enables it
// for multi-user.target; returns the unit's path. Else writes nothing and
// returns "". A symlink or file already at either path is replaced, never
// followed; missing directories are made (root:root 0755).
std::string install_service_unit(ext4::Editor& image);

}  // namespace banger::agents
