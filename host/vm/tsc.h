// The host's TSC frequency. Under TCG the guest reads the host's TSC, and the
// guest kernel's own calibration (against a PIT that TCG emulates with
// wall-clock jitter) fails on a busy host: "tsc: Unable to calibrate against
// PIT", then the boot stalls. Passing tsc_early_khz= skips that calibration.
#pragma once

#include <cstdint>

namespace banger::vm {

// Measured once per process against CLOCK_MONOTONIC_RAW (~20 ms); 0 where
// the CPU has no usable TSC (non-x86 hosts).
uint64_t host_tsc_khz();

}  // namespace banger::vm
