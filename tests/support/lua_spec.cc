#include "tests/support/lua_spec.h"

#include <catch2/catch.hpp>

#include <cstdlib>

#include "bindings/runtime.h"
#include "host/core/error.h"
#include "tests/support/temp_dir.h"

namespace banger::test {

void run_lua_spec(const std::string& path) {
  TempDir home;
  setenv("BANGER_HOME", home.path().c_str(), 1);
  setenv("XDG_CONFIG_HOME", (home.path() + "/config").c_str(), 1);
  lua::Runtime rt;
  std::string dir = std::string(BANGER_SOURCE_DIR) + "/tests/lua";
  std::string setup = "package.path = '" + dir + "/?.lua;' .. package.path\n" + "SPEC_SOURCE_DIR = '" +
                      std::string(BANGER_SOURCE_DIR) + "'\n" + "SPEC_BINARY_DIR = '" +
                      std::string(BANGER_BINARY_DIR) + "'\n" + "return require('spec').run_file('" + path +
                      "')";
  std::string report;
  try {
    report = rt.eval(setup, "=spec");
  } catch (const Error& e) {
    FAIL(path << ":\n" << e.message());
  }
  INFO(report);
  SUCCEED(report);
}

}  // namespace banger::test
