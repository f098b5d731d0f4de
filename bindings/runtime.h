// The Lua runtime: a LuaJIT state with the standard libraries, the native
// modules under _host, and a loader that finds `banger.*` modules in the
// embedded stdlib (or in $BANGER_LUA_PATH/lua/stdlib when developing).
#pragma once

#include <string>
#include <vector>

struct lua_State;

namespace banger::lua {

class Runtime {
 public:
  Runtime();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  lua_State* state() const { return L_; }

  // Runs require("banger.cli").main(args); returns the process exit code.
  int run_cli(const std::vector<std::string>& args);

  // Runs Lua source (for tests); returns the results joined by tabs through
  // tostring. Throws banger::Error carrying the Lua error's kind and message.
  std::string eval(const std::string& source, const std::string& chunkname = "=eval");

 private:
  lua_State* L_;
};

// The text of a file of the source tree ("lua/recipes/vm_run.lua"): from
// $BANGER_LUA_PATH when set, else from the copy embedded in the binary.
// Returns false when there is no such file.
bool read_source_file(const std::string& path, std::string& out);
// The embedded (or $BANGER_LUA_PATH) files under `dir` ("lua/recipes").
std::vector<std::string> list_source_files(const std::string& dir);

// The process entry point used by app/main.cc.
int main(int argc, char** argv);

}  // namespace banger::lua
