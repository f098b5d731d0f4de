// Reading the end of a VM's console log (and QEMU's own stderr log) for error
// messages: the last lines usually say why a boot failed.
#pragma once

#include <string>

namespace banger::vm {

// The last `lines` lines of the file (at most the last 64 KiB), without
// carriage returns; "" if the file is missing or empty.
std::string tail_lines(const std::string& path, int lines);

// "\nconsole (last N lines of PATH):\n  ...\n" plus QEMU's stderr when it has
// any: the paragraph appended to boot errors.
std::string console_report(const std::string& console_log, const std::string& qemu_log, int lines = 20);

}  // namespace banger::vm
