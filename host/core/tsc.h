// The host's TSC frequency. Under TCG the guest reads the host's TSC, and the
// guest kernel's own calibration (against a PIT that TCG emulates with
// wall-clock jitter) fails on a busy host: "tsc: Unable to calibrate against
// PIT", then the boot stalls. Passing tsc_early_khz= skips that calibration.
#pragma once

#include <cstdint>
#include <string>

namespace banger {

// Measured against CLOCK_MONOTONIC_RAW (~20 ms) once per host boot: the
// result is kept in $BANGER_HOME/tsc_khz with the boot's id, so a VM start
// does not pay for it again. 0 where the CPU has no usable TSC (non-x86).
uint64_t host_tsc_khz();

// The rate kept in `file` for this boot, else measured and kept there.
uint64_t tsc_khz_cached(const std::string& file);

}  // namespace banger
