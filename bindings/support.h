// What every binding uses: the trampoline, argument checks that raise banger
// errors, Lua error values, JSON <-> Lua conversion, userdata handles and
// module registration. This and bindings/*.cc are the only code that touches
// the Lua C API.
//
// A binding is a plain function `int f(lua_State* L)` that may throw
// banger::Error (or any std::exception); register it wrapped:
//
//   int ext4_build(lua_State* L) {
//     auto path = arg_string(L, 2, "path");        // throws invalid_input
//     ...host call that may throw...
//     lua_pushboolean(L, 1);
//     return 1;
//   }
//   const luaL_Reg kFuncs[] = {{"build", wrap<ext4_build>}, {nullptr, nullptr}};
//   int open_ext4(lua_State* L) { luaL_newlib... ; return 1; }
//   BANGER_LUA_MODULE(ext4, open_ext4);   // -> _host.ext4
//
// Do not call luaL_check*/luaL_error/lua_error in bindings: they longjmp over
// live C++ objects. Use the arg_* helpers, which throw.
#pragma once

#include <lua.hpp>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "host/core/error.h"

namespace banger::lua {

// Pushes the Lua error value for `e`: a table {kind=, message=, hint=} whose
// metatable (`banger.error`) prints "MESSAGE" via tostring.
void push_error(lua_State* L, const Error& e);

// Runs `f`, turning any C++ exception into a Lua error raised after every C++
// scope has been left. The one place that calls lua_error.
int call_protected(lua_State* L, int (*f)(lua_State*));

template <int (*F)(lua_State*)>
int wrap(lua_State* L) {
  return call_protected(L, F);
}

// The other direction, one way for every callback into Lua: the Lua error
// value at `idx` as a banger::Error keeping its kind, message and hint; a
// plain string error becomes "CONTEXT: message" of kind internal.
Error error_from_lua(lua_State* L, int idx, const std::string& context);
// Calls the function below the `nargs` arguments on the stack, protected.
// A Lua error is popped and thrown as error_from_lua's Error, after
// lua_pcall has returned (nothing longjmps over C++ objects).
void call_lua(lua_State* L, int nargs, int nresults, const std::string& context);

// ---- arguments (1-based stack index; `name` appears in the error) ----
std::string arg_string(lua_State* L, int idx, const char* name);
std::optional<std::string> opt_string(lua_State* L, int idx, const char* name);
long long arg_integer(lua_State* L, int idx, const char* name);
std::optional<long long> opt_integer(lua_State* L, int idx, const char* name);
bool opt_boolean(lua_State* L, int idx, const char* name, bool fallback);
// A table argument (or nil -> empty object) converted to JSON.
nlohmann::json arg_table(lua_State* L, int idx, const char* name);

// ---- JSON <-> Lua ----
// Objects become tables with string keys, arrays become sequences, null nil.
void push_json(lua_State* L, const nlohmann::json& value);
// Gives the table at idx the JSON-array marker (push_json does it for every
// array), so an empty one converts back to [] rather than {}.
void mark_array(lua_State* L, int idx);
// Converts the value at idx. A table with only keys 1..n is an array; an empty
// table is an empty object. Functions and userdata are an invalid_input error.
nlohmann::json to_json(lua_State* L, int idx);

// ---- userdata handles ----
// A handle owns a shared_ptr<T>. Each type has one metatable name and one
// luaL_Reg method table; __gc releases the pointer, close() may run earlier.
template <typename T>
struct Handle {
  std::shared_ptr<T> ptr;
};

// Creates the metatable `tname` with `methods` as __index (call once per type,
// from the module's open function). Adds __gc; `__tostring` if given.
void define_handle_type(lua_State* L, const char* tname, const luaL_Reg* methods,
                        lua_CFunction tostring = nullptr);
void define_handle_gc(lua_State* L, const char* tname, lua_CFunction gc);

template <typename T>
void push_handle(lua_State* L, std::shared_ptr<T> ptr, const char* tname) {
  void* mem = lua_newuserdata(L, sizeof(Handle<T>));
  new (mem) Handle<T>{std::move(ptr)};
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}

// Throws invalid_input unless idx holds a live handle of type `tname`.
void* check_udata(lua_State* L, int idx, const char* tname);

template <typename T>
std::shared_ptr<T> arg_handle(lua_State* L, int idx, const char* tname) {
  auto* h = static_cast<Handle<T>*>(check_udata(L, idx, tname));
  if (!h->ptr) fail(ErrorKind::invalid_input, std::string(tname) + " is closed");
  return h->ptr;
}

// __gc / close for a Handle<T>: drops the pointer (idempotent).
template <typename T>
int handle_release(lua_State* L) {
  auto* h = static_cast<Handle<T>*>(lua_touserdata(L, 1));
  if (h) h->ptr.reset();
  return 0;
}
template <typename T>
void define_handle(lua_State* L, const char* tname, const luaL_Reg* methods,
                   lua_CFunction tostring = nullptr) {
  define_handle_type(L, tname, methods, tostring);
  define_handle_gc(L, tname, handle_release<T>);
}

// ---- modules ----
// Registers `open` to build the table _host.NAME when a Lua state starts.
struct ModuleRegistration {
  ModuleRegistration(const char* name, lua_CFunction open);
};
#define BANGER_LUA_MODULE(name, open_fn) \
  static ::banger::lua::ModuleRegistration banger_lua_module_##name(#name, open_fn)

// Creates the table _host and calls every registered module's open function.
void open_host_modules(lua_State* L);

}  // namespace banger::lua
