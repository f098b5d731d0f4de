// Runs a shell command in a directory for a test, with a fixed git
// identity and no user git config, and fails the test when it fails.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "host/core/process.h"

namespace banger::test {

inline std::string sh_in(const std::string& dir, const std::string& cmd) {
  RunResult r = run_capture({"env", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
                             "GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_GLOBAL=/dev/null", "sh", "-c", cmd},
                            {}, dir);
  INFO(cmd << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace banger::test
