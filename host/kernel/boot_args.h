// Kernel command-line arguments that depend on how the guest runs.
//
// Under QEMU's software emulation (TCG) on a loaded host, the stock Debian
// kernel fails to calibrate its TSC against the emulated PIT ("tsc: Unable to
// calibrate against PIT ... Marking TSC unstable") and then hangs for ever
// before running /init. Measured here: with the host's TSC rate passed as
// tsc_early_khz= the same boot reaches /init every time. Under TCG the guest
// TSC is the host TSC (QEMU reads it with rdtsc), so the rate is measured on
// the host (host/core/tsc.h).
#pragma once

#include <string>
#include <vector>

namespace banger::kernel {

// Arguments to add to the kernel command line for a TCG guest
// ({"tsc_early_khz=2445406"}); empty when there is nothing to add.
std::vector<std::string> tcg_boot_args();

}  // namespace banger::kernel
