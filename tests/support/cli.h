// Runs the real build/banger for CLI and end-to-end tests.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace banger::test {

struct CliResult {
  int code = 0;
  std::string out;
  std::string err;
};

struct CliOptions {
  std::string cwd;                         // default: the current directory
  std::map<std::string, std::string> env;  // added to the environment
  std::string input;                       // fed on stdin
};

// A fresh installation under `dir`: BANGER_HOME=DIR/home,
// XDG_CONFIG_HOME=DIR/config, run from `cwd` (default: DIR).
CliOptions home_in(const std::string& dir, const std::string& cwd = {});

// The banger binary under test: $BANGER_BIN, else BANGER_BINARY_DIR/banger.
std::string banger_binary();

CliResult run_banger(const std::vector<std::string>& args, const CliOptions& opts = {});

// A fresh installation under `dir`: BANGER_HOME=DIR/home,
// XDG_CONFIG_HOME=DIR/config, run from DIR.
CliOptions home_env(const std::string& dir);

}  // namespace banger::test
