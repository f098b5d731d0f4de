// The state half of `banger doctor`: whether the index matches the state
// directories, and disk held by leftovers of killed commands (staging dirs,
// idle partial downloads). `repair` is `banger doctor --repair`.
#pragma once

#include <string>
#include <vector>

#include "host/doctor/checks.h"

namespace banger::doctor {

// "state index" and "leftovers", for $BANGER_HOME.
std::vector<Check> state_checks();

// Removes the leftovers, rebuilds the index from the state directories
// when it is damaged or lost, records orphan directories, drops records
// whose directory is gone. VM addresses come from [first, last]. Returns
// one line per action (empty: nothing to do).
std::vector<std::string> repair(long long first, long long last);

// "220.1 MB"
std::string format_bytes(unsigned long long bytes);

}  // namespace banger::doctor
