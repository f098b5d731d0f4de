#include "tests/support/cli.h"

#include <cstdlib>

#include "host/core/process.h"

namespace banger::test {

std::string banger_binary() {
  const char* b = std::getenv("BANGER_BIN");
  return b && *b ? b : std::string(BANGER_BINARY_DIR) + "/banger";
}

CliOptions home_in(const std::string& dir, const std::string& cwd) {
  CliOptions o;
  // Warm starts off (BANGER_WARM=0): a test's VMs boot as it says; the warm
  // start tests turn them on.
  o.env = {{"BANGER_HOME", dir + "/home"}, {"XDG_CONFIG_HOME", dir + "/config"}, {"BANGER_WARM", "0"}};
  o.cwd = cwd.empty() ? dir : cwd;
  return o;
}

CliResult run_banger(const std::vector<std::string>& args, const CliOptions& opts) {
  std::vector<std::string> argv = {"env"};
  for (const auto& [k, v] : opts.env) argv.push_back(k + "=" + v);
  argv.push_back(banger_binary());
  argv.insert(argv.end(), args.begin(), args.end());
  std::optional<std::string> cwd;
  if (!opts.cwd.empty()) cwd = opts.cwd;
  RunResult r = run_capture(argv, opts.input, cwd);
  return {r.exit_code, r.out, r.err};
}

CliOptions home_env(const std::string& dir) { return home_in(dir); }

}  // namespace banger::test
