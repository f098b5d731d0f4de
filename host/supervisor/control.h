// The control socket of a VM's supervisor. Clients speak the agent protocol
// (proto/wire.h) to it: after a Hello, their requests are routed to the
// guest agent with ids remapped, so any number of clients share the one
// agent channel. A few frame types are the supervisor's own.
#pragma once

#include <cstdint>

#include "proto/wire.h"

namespace banger::supervisor {

// The socket's file name inside the VM's state directory (mode 0600 in a 0700 dir).
inline constexpr const char* kControlSocket = "control.sock";

// Supervisor-local frame types, above the agent's range.
inline constexpr proto::Type kInfoRequest = static_cast<proto::Type>(100);  // C>S, empty
inline constexpr proto::Type kInfo = static_cast<proto::Type>(101);         // S>C, JSON text
inline constexpr proto::Type kStop = static_cast<proto::Type>(102);  // C>S, "" power off, "now" at once
// Operations on the VMM (QMP) and its network, JSON both ways: {"op":
// "pause" | "resume" | "snapshot" | "egress" (egress=[rules], add_hosts=[pins]),
// ...} -> {"result": {...}} or {"error": {"kind", "message", "hint"}}.
inline constexpr proto::Type kControl = static_cast<proto::Type>(103);       // C>S
inline constexpr proto::Type kControlReply = static_cast<proto::Type>(104);  // S>C

// A safety net: a client that speaks "credit" holds at most one window per
// stream here (proto/flow.h). One whose unread output passes this anyway
// ignores flow control (or predates it) and is disconnected, its commands
// killed, so that the supervisor's memory stays bounded.
inline constexpr size_t kClientBufferCap = 16u << 20;

}  // namespace banger::supervisor
