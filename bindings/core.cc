// _host.core: process-level facts and small utilities the stdlib builds on
// (paths, files, environment, child processes, logging, interrupts).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bindings/runtime.h"
#include "bindings/support.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/core/log.h"
#include "host/core/paths.h"
#include "host/core/process.h"
#include "host/core/sha256.h"
#include "host/core/vm_name.h"

namespace banger::lua {

namespace {

int core_version(lua_State* L) {
  lua_pushstring(L, BANGER_VERSION);
  return 1;
}

// sha256(text) -> "sha256:<hex>": names made from content (warm snapshot keys).
int core_sha256(lua_State* L) {
  lua_pushstring(L, sha256_digest(arg_string(L, 1, "text")).c_str());
  return 1;
}

int core_getenv(lua_State* L) {
  const char* v = std::getenv(arg_string(L, 1, "name").c_str());
  if (v) lua_pushstring(L, v);
  else lua_pushnil(L);
  return 1;
}

int core_cwd(lua_State* L) {
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf)) fail_errno("getcwd");
  lua_pushstring(L, buf);
  return 1;
}

int core_isatty(lua_State* L) {
  lua_pushboolean(L, isatty(static_cast<int>(arg_integer(L, 1, "fd"))));
  return 1;
}

int core_set_verbose(lua_State* L) {
  bool v = opt_boolean(L, 1, "verbose", true);
  spdlog::set_level(v ? spdlog::level::debug : spdlog::level::warn);
  spdlog::set_pattern(v ? "%^[%H:%M:%S.%e %l]%$ %v" : "%^%l:%$ %v");
  return 0;
}

int core_log(lua_State* L) {
  std::string level = arg_string(L, 1, "level");
  std::string msg = arg_string(L, 2, "message");
  spdlog::log(spdlog::level::from_str(level), "{}", msg);
  return 0;
}

int core_paths(lua_State* L) {
  nlohmann::json p = {{"home", paths::home()},           {"config_home", paths::config_home()},
                      {"blobs", paths::blobs()},         {"images", paths::images()},
                      {"kernels", paths::kernels()},     {"vms", paths::vms()},
                      {"snapshots", paths::snapshots()}, {"staging", paths::staging()},
                      {"index_db", paths::index_db()}};
  push_json(L, p);
  return 1;
}

int core_ensure_layout(lua_State* L) {
  paths::ensure_layout();
  return 0;
}

int core_read_source(lua_State* L) {
  std::string out;
  if (!read_source_file(arg_string(L, 1, "path"), out)) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

int core_list_source(lua_State* L) {
  push_json(L, list_source_files(arg_string(L, 1, "dir")));
  return 1;
}

int core_read_file(lua_State* L) {
  std::string data = fs::read_file(arg_string(L, 1, "path"));
  lua_pushlstring(L, data.data(), data.size());
  return 1;
}

int core_write_file(lua_State* L) {
  std::string path = arg_string(L, 1, "path");
  std::string data = arg_string(L, 2, "data");
  int mode = static_cast<int>(opt_integer(L, 3, "mode").value_or(0644));
  fs::write_file_atomic(path, data, mode);
  return 0;
}

int core_stat(lua_State* L) {
  std::string path = arg_string(L, 1, "path");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    lua_pushnil(L);
    return 1;
  }
  const char* type = S_ISDIR(st.st_mode)   ? "dir"
                     : S_ISREG(st.st_mode) ? "file"
                     : S_ISLNK(st.st_mode) ? "symlink"
                                           : "other";
  push_json(L, {{"type", type},
                {"size", st.st_size},
                {"mode", st.st_mode & 07777},
                {"mtime", st.st_mtime},
                {"allocated", static_cast<uint64_t>(st.st_blocks) * 512}});
  return 1;
}

int core_list_dir(lua_State* L) {
  std::string path = arg_string(L, 1, "path");
  DIR* d = opendir(path.c_str());
  if (!d) fail_errno("listing " + path);
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.emplace_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  push_json(L, names);
  return 1;
}

int core_make_dirs(lua_State* L) {
  fs::make_dirs(arg_string(L, 1, "path"), static_cast<int>(opt_integer(L, 2, "mode").value_or(0700)));
  return 0;
}

int core_remove_all(lua_State* L) {
  fs::remove_all(arg_string(L, 1, "path"));
  return 0;
}

int core_rename(lua_State* L) {
  std::string from = arg_string(L, 1, "from"), to = arg_string(L, 2, "to");
  if (rename(from.c_str(), to.c_str()) != 0) fail_errno("renaming " + from + " to " + to);
  return 0;
}

int core_make_temp_dir(lua_State* L) {
  lua_pushstring(L, fs::make_temp_dir(arg_string(L, 1, "parent"), arg_string(L, 2, "prefix")).c_str());
  return 1;
}

int core_realpath(lua_State* L) {
  std::string path = arg_string(L, 1, "path");
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) fail_errno("resolving " + path);
  lua_pushstring(L, buf);
  return 1;
}

int core_free_bytes(lua_State* L) {
  lua_pushnumber(L, static_cast<double>(fs::free_bytes(arg_string(L, 1, "path"))));
  return 1;
}

// check_vm_name(name): raises invalid_input unless `name` follows the VM name
// rule (host/core/vm_name.h); a value that is not a string never does.
int core_check_vm_name(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING) {
    const char* shown = lua_type(L, 1) == LUA_TNUMBER ? lua_tostring(L, 1) : lua_typename(L, lua_type(L, 1));
    fail_vm_name(shown ? shown : "?");
  }
  check_vm_name(arg_string(L, 1, "name"));
  return 0;
}

// run(argv, {input=, cwd=}) -> {code=, out=, err=}
int core_run(lua_State* L) {
  nlohmann::json argv = arg_table(L, 1, "argv");
  nlohmann::json opts = arg_table(L, 2, "opts");
  std::vector<std::string> args;
  for (const auto& a : argv) args.push_back(a.get<std::string>());
  std::optional<std::string> cwd;
  if (opts.contains("cwd")) cwd = opts["cwd"].get<std::string>();
  RunResult r = run_capture(args, opts.value("input", std::string()), cwd);
  push_json(L, {{"code", r.exit_code}, {"out", r.out}, {"err", r.err}});
  return 1;
}

// exec(argv): runs a child with our stdio, returns its exit code.
int core_exec(lua_State* L) {
  nlohmann::json argv = arg_table(L, 1, "argv");
  SpawnOptions o;
  for (const auto& a : argv) o.argv.push_back(a.get<std::string>());
  Process p = Process::spawn(o);
  lua_pushinteger(L, p.wait());
  return 1;
}

int core_find_executable(lua_State* L) {
  auto p = find_executable(arg_string(L, 1, "name"));
  if (p) lua_pushstring(L, p->c_str());
  else lua_pushnil(L);
  return 1;
}

int core_interrupted(lua_State* L) {
  lua_pushboolean(L, interrupted());
  return 1;
}

int core_check_interrupted(lua_State* L) {
  check_interrupted();
  return 0;
}

// set_interrupted(bool): for the recipe runner, which holds a Ctrl-C back
// while cleanups run.
int core_set_interrupted(lua_State* L) {
  set_interrupted(lua_toboolean(L, 1) != 0);
  return 0;
}

int core_monotonic_ms(lua_State* L) {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  lua_pushnumber(L, std::chrono::duration<double, std::milli>(now).count());
  return 1;
}

int core_now(lua_State* L) {
  lua_pushnumber(L, static_cast<double>(time(nullptr)));
  return 1;
}

// sleep_ms(ms): waits; Ctrl-C ends the wait early (callers check_interrupted).
int core_sleep_ms(lua_State* L) {
  long long ms = arg_integer(L, 1, "ms");
  if (ms <= 0) return 0;
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);
  return 0;
}

int core_getpid(lua_State* L) {
  lua_pushinteger(L, getpid());
  return 1;
}

int core_geteuid(lua_State* L) {
  lua_pushinteger(L, geteuid());
  return 1;
}

int core_write(lua_State* L) {
  int fd = static_cast<int>(arg_integer(L, 1, "fd"));
  std::string data = arg_string(L, 2, "data");
  (fd == 2 ? std::cerr : std::cout) << data << std::flush;
  return 0;
}

// error(kind, message, hint): a Lua error value like the ones host failures raise.
int core_error(lua_State* L) {
  std::string kind = arg_string(L, 1, "kind");
  auto hint = opt_string(L, 3, "hint");
  push_error(L, Error(kind_from_name(kind), arg_string(L, 2, "message"), hint.value_or("")));
  return 1;
}

int core_exit_code(lua_State* L) {
  lua_pushinteger(L, exit_code(kind_from_name(arg_string(L, 1, "kind"))));
  return 1;
}

const luaL_Reg kFuncs[] = {
    {"version", wrap<core_version>},
    {"sha256", wrap<core_sha256>},
    {"getenv", wrap<core_getenv>},
    {"cwd", wrap<core_cwd>},
    {"isatty", wrap<core_isatty>},
    {"set_verbose", wrap<core_set_verbose>},
    {"log", wrap<core_log>},
    {"paths", wrap<core_paths>},
    {"ensure_layout", wrap<core_ensure_layout>},
    {"read_source", wrap<core_read_source>},
    {"list_source", wrap<core_list_source>},
    {"read_file", wrap<core_read_file>},
    {"write_file", wrap<core_write_file>},
    {"stat", wrap<core_stat>},
    {"list_dir", wrap<core_list_dir>},
    {"make_dirs", wrap<core_make_dirs>},
    {"remove_all", wrap<core_remove_all>},
    {"rename", wrap<core_rename>},
    {"make_temp_dir", wrap<core_make_temp_dir>},
    {"realpath", wrap<core_realpath>},
    {"free_bytes", wrap<core_free_bytes>},
    {"check_vm_name", wrap<core_check_vm_name>},
    {"run", wrap<core_run>},
    {"exec", wrap<core_exec>},
    {"find_executable", wrap<core_find_executable>},
    {"interrupted", wrap<core_interrupted>},
    {"check_interrupted", wrap<core_check_interrupted>},
    {"set_interrupted", wrap<core_set_interrupted>},
    {"monotonic_ms", wrap<core_monotonic_ms>},
    {"now", wrap<core_now>},
    {"getpid", wrap<core_getpid>},
    {"sleep_ms", wrap<core_sleep_ms>},
    {"geteuid", wrap<core_geteuid>},
    {"write", wrap<core_write>},
    {"error", wrap<core_error>},
    {"exit_code", wrap<core_exit_code>},
    {nullptr, nullptr},
};

int open_core(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(core, open_core);

}  // namespace banger::lua
