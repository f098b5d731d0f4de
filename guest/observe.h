// What the host can ask about the guest: listening sockets and resource use.
#pragma once

#include "proto/messages.h"

namespace banger::agent {

// Listening TCP sockets and bound UDP sockets, from /proc/net/{tcp,tcp6,udp,udp6}.
proto::Ports listening_ports();
// Memory, CPU time, load and process count from /proc.
proto::Stats system_stats();

}  // namespace banger::agent
