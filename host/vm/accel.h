// Choosing the accelerator: KVM only where it can run a stock kernel, that is
// /dev/kvm opens read-write AND the module behind it is kvm_intel or kvm_amd.
// kvm_pvm (a paravirtual KVM found on some cloud hosts) cannot: QEMU hangs in
// the kernel's decompressor. Everything else falls back to TCG. The choice and
// its reason are logged and shown by `banger doctor`.
#pragma once

#include <string>

namespace banger::vm {

struct AccelProbe {
  bool dev_kvm_exists = false;
  bool dev_kvm_usable = false;                               // open(O_RDWR) succeeded
  std::string dev_kvm_error;                                 // why not, when it exists
  bool kvm_intel = false, kvm_amd = false, kvm_pvm = false;  // /sys/module/<name>
};

struct AccelChoice {
  std::string accel;   // "kvm" or "tcg"
  std::string reason;  // one line: why
};

AccelProbe probe_accel();

// BANGER_ACCEL's value, "" when unset: the one place that reads it (vm::start
// and `banger doctor` pass it to choose_accel).
std::string accel_from_env();

// `requested` is "auto" (or empty), "kvm" or "tcg"; `env` is BANGER_ACCEL's
// value (empty when unset), which decides when `requested` is auto. Forcing
// kvm where it cannot work is allowed (the user asked). Anything else is an
// invalid_input error.
AccelChoice choose_accel(const std::string& requested, const std::string& env, const AccelProbe& probe);

}  // namespace banger::vm
