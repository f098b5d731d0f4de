// Runs one Lua spec file (tests/lua/*_spec.lua) in a fresh runtime with a
// fresh BANGER_HOME; failures become Catch2 failures with their messages.
#pragma once

#include <string>

namespace banger::test {

void run_lua_spec(const std::string& path);

}  // namespace banger::test
