// The supervisor's side of control.h's kControl requests: pause, resume
// (and snapshot) of the VM it runs, through the VM's QMP connection. The
// VM's record follows what the guest is doing (`vm ls` shows paused).
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "host/net/egress.h"

namespace banger::vm {
class Vm;
}

namespace banger::supervisor {

struct VmmControl {
  vm::Vm& machine;
  // Writes fields into the VM's index record.
  std::function<void(const nlohmann::json& fields)> update_record;
  // Tap mode: applies an egress policy (supervisor/network.h); empty in
  // user mode, where the VMM's network filter takes it.
  std::function<void(const net::EgressPolicy&)> set_tap_egress;

  // `request` is the kControl JSON text; returns the result's JSON text.
  // Throws Error (invalid_input for an unknown op, conflict for an op the
  // VM's state does not allow, io for QEMU's refusal).
  std::string handle(const std::string& request);
};

}  // namespace banger::supervisor
