#include "bindings/runtime.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "bindings/embedded.h"
#include "bindings/support.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/core/log.h"

namespace banger::lua {

namespace {

std::string dev_root() {
  const char* p = std::getenv("BANGER_LUA_PATH");
  return p && *p ? p : "";
}

// package.loaders entry: banger.X -> lua/stdlib/banger/X.lua.
int load_stdlib_module(lua_State* L) {
  std::string name = arg_string(L, 1, "module");
  std::string rel = name;
  std::replace(rel.begin(), rel.end(), '.', '/');
  std::string source;
  std::string path = "lua/stdlib/" + rel + ".lua";
  if (!read_source_file(path, source)) {
    path = "lua/stdlib/" + rel + "/init.lua";
    if (!read_source_file(path, source)) {
      lua_pushfstring(L, "\n\tno banger stdlib module '%s'", name.c_str());
      return 1;
    }
  }
  std::string chunk = "@" + path;
  if (luaL_loadbuffer(L, source.data(), source.size(), chunk.c_str()) != 0) {
    std::string msg = lua_tostring(L, -1);
    lua_pop(L, 1);
    fail(ErrorKind::internal, "loading " + name + ": " + msg);
  }
  return 1;
}

void install_loader(lua_State* L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaders");
  // Shift loaders 2..n up by one and put ours at 2 (after package.preload).
  int n = static_cast<int>(lua_objlen(L, -1));
  for (int i = n; i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, wrap<load_stdlib_module>);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}

int traceback(lua_State* L) {
  // Keep error values (tables) as they are; attach the traceback beside them.
  luaL_traceback(L, L, nullptr, 1);
  lua_setglobal(L, "_BANGER_LAST_TRACEBACK");
  return 1;
}

}  // namespace

bool read_source_file(const std::string& path, std::string& out) {
  std::string root = dev_root();
  if (!root.empty()) {
    std::string full = root + "/" + path;
    if (!fs::exists(full)) return false;
    out = fs::read_file(full);
    return true;
  }
  for (const auto& f : embedded_files()) {
    if (f.path == path) {
      out.assign(f.contents);
      return true;
    }
  }
  return false;
}

std::vector<std::string> list_source_files(const std::string& dir) {
  std::vector<std::string> out;
  std::string root = dev_root();
  if (!root.empty()) {
    if (DIR* d = opendir((root + "/" + dir).c_str())) {
      while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
      closedir(d);
    }
  } else {
    std::string prefix = dir + "/";
    for (const auto& f : embedded_files())
      if (f.path.substr(0, prefix.size()) == prefix &&
          f.path.find('/', prefix.size()) == std::string_view::npos)
        out.emplace_back(f.path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Runtime::Runtime() : L_(luaL_newstate()) {
  if (!L_) throw Error(ErrorKind::internal, "cannot create the Lua state");
  luaL_openlibs(L_);
  install_loader(L_);
  open_host_modules(L_);
}

Runtime::~Runtime() { lua_close(L_); }

int Runtime::run_cli(const std::vector<std::string>& args) {
  lua_State* L = L_;
  lua_pushcfunction(L, traceback);
  int handler = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushstring(L, "banger.cli");
  if (lua_pcall(L, 1, 1, handler) != 0) {
    fprintf(stderr, "error: cannot load the banger CLI: %s\n", lua_tostring(L, -1));
    return 9;
  }
  lua_getfield(L, -1, "main");
  lua_createtable(L, static_cast<int>(args.size()), 0);
  for (size_t i = 0; i < args.size(); i++) {
    lua_pushlstring(L, args[i].data(), args[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  if (lua_pcall(L, 1, 1, handler) != 0) {
    const char* msg = lua_tostring(L, -1);
    fprintf(stderr, "error: %s\n", msg ? msg : "(error object)");
    return 9;
  }
  int code = lua_isnumber(L, -1) ? static_cast<int>(lua_tointeger(L, -1)) : 0;
  lua_settop(L, 0);
  return code;
}

std::string Runtime::eval(const std::string& source, const std::string& chunkname) {
  lua_State* L = L_;
  int base = lua_gettop(L);
  lua_pushcfunction(L, traceback);
  int status = luaL_loadbuffer(L, source.data(), source.size(), chunkname.c_str());
  if (status == 0) status = lua_pcall(L, 0, LUA_MULTRET, base + 1);
  if (status != 0) {
    Error e = error_from_lua(L, -1, "");
    lua_settop(L, base);
    throw e;
  }
  std::string out;
  int top = lua_gettop(L);
  lua_getglobal(L, "tostring");
  for (int i = base + 2; i <= top; i++) {
    lua_pushvalue(L, -1);
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    if (!out.empty()) out += "\t";
    out += lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  lua_settop(L, base);
  return out;
}

int main(int argc, char** argv) {
  install_interrupt_handlers();
  init_logging(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    Runtime rt;
    return rt.run_cli(args);
  } catch (const Error& e) {
    fprintf(stderr, "error: %s\n", e.message().c_str());
    if (!e.hint().empty()) fprintf(stderr, "  hint: %s\n", e.hint().c_str());
    return exit_code(e.kind());
  }
}

}  // namespace banger::lua
