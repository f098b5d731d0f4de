// `banger doctor`: what this host has and lacks for running banger's VMs,
// each check with how to fix it. The recipe lua/recipes/doctor.lua prints them.
#pragma once

#include <string>
#include <vector>

#include "host/doctor/build_mode.h"

namespace banger::doctor {

struct Check {
  std::string name;
  std::string status;      // "ok", "warn" or "fail"
  bool essential = false;  // a failed essential check makes `banger doctor` exit 1
  std::string detail;      // what was found
  std::string fix;         // how to fix it (empty when ok)
  bool ok() const { return status != "fail"; }
};

struct Inputs {
  std::string home;             // BANGER_HOME (disk space is measured there)
  std::string user_ssh_config;  // ~/.ssh/config (checked for banger's Include)
  std::string accel_env;        // BANGER_ACCEL's value
};

// The inputs of this process (environment and paths).
Inputs default_inputs();

std::vector<Check> run_checks(const Inputs& in);

// True when every essential check passed.
bool essentials_ok(const std::vector<Check>& checks);

// How catalog images can be built as this user (build_mode.h).
Check build_mode_check(const BuildMode& m);

// Disk space verdict for `free` bytes: fail under 1 GiB, warn under 5 GiB.
Check disk_check(const std::string& dir, unsigned long long free);

// virtiofsd at `path` for --mount (only that needs it: a warning at worst),
// and root, which it needs.
Check virtiofs_check(const std::string& path, bool privileged);

}  // namespace banger::doctor
