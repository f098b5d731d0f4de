#include "bindings/support.h"

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

namespace banger::lua {

namespace {

const char* kErrorMeta = "banger.error";
// Tables that are JSON arrays carry this metatable, so that an empty list
// stays `[]` when it goes back out as JSON.
const char* kArrayMeta = "banger.json.array";

int error_tostring(lua_State* L) {
  lua_getfield(L, 1, "message");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushstring(L, "error");
  }
  return 1;
}

void push_error_metatable(lua_State* L) {
  if (luaL_newmetatable(L, kErrorMeta)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, "banger.error");
    lua_setfield(L, -2, "__name");
  }
}

std::vector<std::pair<const char*, lua_CFunction>>& registry() {
  static std::vector<std::pair<const char*, lua_CFunction>> modules;
  return modules;
}

[[noreturn]] void bad_arg(int idx, const char* name, const char* expected, lua_State* L) {
  fail(ErrorKind::invalid_input, std::string("bad argument #") + std::to_string(idx) + " (" + name +
                                     "): expected " + expected + ", got " + luaL_typename(L, idx));
}

}  // namespace

void push_error(lua_State* L, const Error& e) {
  lua_createtable(L, 0, 3);
  lua_pushlstring(L, kind_name(e.kind()).data(), kind_name(e.kind()).size());
  lua_setfield(L, -2, "kind");
  lua_pushlstring(L, e.message().data(), e.message().size());
  lua_setfield(L, -2, "message");
  if (!e.hint().empty()) {
    lua_pushlstring(L, e.hint().data(), e.hint().size());
    lua_setfield(L, -2, "hint");
  }
  push_error_metatable(L);
  lua_setmetatable(L, -2);
}

int call_protected(lua_State* L, int (*f)(lua_State*)) {
  int results = 0;
  bool failed = false;
  {
    try {
      results = f(L);
    } catch (const Error& e) {
      push_error(L, e);
      failed = true;
    } catch (const std::bad_alloc&) {
      push_error(L, Error(ErrorKind::internal, "out of memory"));
      failed = true;
    } catch (const std::exception& e) {
      push_error(L, Error(ErrorKind::internal, e.what()));
      failed = true;
    }
  }
  // Every C++ object of this call is gone: raising now unwinds nothing of ours.
  if (failed) return lua_error(L);
  return results;
}

std::string arg_string(lua_State* L, int idx, const char* name) {
  if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TNUMBER) bad_arg(idx, name, "string", L);
  size_t len;
  const char* s = lua_tolstring(L, idx, &len);
  return std::string(s, len);
}

std::optional<std::string> opt_string(lua_State* L, int idx, const char* name) {
  if (lua_isnoneornil(L, idx)) return std::nullopt;
  return arg_string(L, idx, name);
}

long long arg_integer(lua_State* L, int idx, const char* name) {
  if (lua_type(L, idx) != LUA_TNUMBER) bad_arg(idx, name, "integer", L);
  double d = lua_tonumber(L, idx);
  if (std::floor(d) != d) bad_arg(idx, name, "integer", L);
  return static_cast<long long>(d);
}

std::optional<long long> opt_integer(lua_State* L, int idx, const char* name) {
  if (lua_isnoneornil(L, idx)) return std::nullopt;
  return arg_integer(L, idx, name);
}

bool opt_boolean(lua_State* L, int idx, const char* name, bool fallback) {
  if (lua_isnoneornil(L, idx)) return fallback;
  if (lua_type(L, idx) != LUA_TBOOLEAN) bad_arg(idx, name, "boolean", L);
  return lua_toboolean(L, idx);
}

nlohmann::json arg_table(lua_State* L, int idx, const char* name) {
  if (lua_isnoneornil(L, idx)) return nlohmann::json::object();
  if (lua_type(L, idx) != LUA_TTABLE) bad_arg(idx, name, "table", L);
  return to_json(L, idx);
}

Error error_from_lua(lua_State* L, int idx, const std::string& context) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  ErrorKind kind = ErrorKind::internal;
  std::string message = context.empty() ? "a Lua error without a message" : context + " failed", hint;
  if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "kind");
    if (lua_isstring(L, -1)) kind = kind_from_name(lua_tostring(L, -1));
    lua_getfield(L, idx, "message");
    if (lua_isstring(L, -1)) message = lua_tostring(L, -1);
    lua_getfield(L, idx, "hint");
    if (lua_isstring(L, -1)) hint = lua_tostring(L, -1);
    lua_pop(L, 3);
  } else if (lua_isstring(L, idx)) {
    message = context.empty() ? lua_tostring(L, idx) : context + ": " + lua_tostring(L, idx);
  }
  return Error(kind, message, hint);
}

void call_lua(lua_State* L, int nargs, int nresults, const std::string& context) {
  if (lua_pcall(L, nargs, nresults, 0) == 0) return;
  Error e = error_from_lua(L, -1, context);
  lua_pop(L, 1);
  throw e;
}

// lua_checkstack, unlike luaL_checkstack, reports instead of longjmping.
static void reserve_stack(lua_State* L, const char* what) {
  if (!lua_checkstack(L, 4))
    fail(ErrorKind::invalid_input, std::string(what) + ": the value nests too deeply");
}

void push_json(lua_State* L, const nlohmann::json& v) {
  reserve_stack(L, "push_json");
  switch (v.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      lua_pushnil(L);
      break;
    case nlohmann::json::value_t::boolean:
      lua_pushboolean(L, v.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
      lua_pushnumber(L, static_cast<lua_Number>(v.get<long long>()));
      break;
    case nlohmann::json::value_t::number_unsigned:
      lua_pushnumber(L, static_cast<lua_Number>(v.get<unsigned long long>()));
      break;
    case nlohmann::json::value_t::number_float:
      lua_pushnumber(L, v.get<double>());
      break;
    case nlohmann::json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case nlohmann::json::value_t::binary:
      lua_pushlstring(L, reinterpret_cast<const char*>(v.get_binary().data()), v.get_binary().size());
      break;
    case nlohmann::json::value_t::array: {
      lua_createtable(L, static_cast<int>(v.size()), 0);
      int i = 1;
      for (const auto& item : v) {
        push_json(L, item);
        lua_rawseti(L, -2, i++);
      }
      mark_array(L, -1);
      break;
    }
    case nlohmann::json::value_t::object: {
      lua_createtable(L, 0, static_cast<int>(v.size()));
      for (const auto& [k, item] : v.items()) {
        if (item.is_null()) continue;
        lua_pushlstring(L, k.data(), k.size());
        push_json(L, item);
        lua_rawset(L, -3);
      }
      break;
    }
  }
}

void mark_array(lua_State* L, int idx) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  luaL_newmetatable(L, kArrayMeta);
  lua_setmetatable(L, idx);
}

static bool is_marked_array(lua_State* L, int idx) {
  if (!lua_getmetatable(L, idx)) return false;
  luaL_getmetatable(L, kArrayMeta);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

nlohmann::json to_json(lua_State* L, int idx) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
      return nullptr;
    case LUA_TBOOLEAN:
      return static_cast<bool>(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
      double d = lua_tonumber(L, idx);
      if (std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<long long>(d);
      return d;
    }
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, idx, &len);
      return std::string(s, len);
    }
    case LUA_TTABLE: {
      reserve_stack(L, "to_json");
      size_t n = lua_objlen(L, idx);
      size_t count = 0;
      bool all_int = true;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        count++;
        if (lua_type(L, -2) != LUA_TNUMBER) all_int = false;
        lua_pop(L, 1);
      }
      if ((count > 0 && all_int && count == n) || (count == 0 && is_marked_array(L, idx))) {
        auto arr = nlohmann::json::array();
        for (size_t i = 1; i <= n; i++) {
          lua_rawgeti(L, idx, static_cast<int>(i));
          arr.push_back(to_json(L, -1));
          lua_pop(L, 1);
        }
        return arr;
      }
      auto obj = nlohmann::json::object();
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        std::string key;
        if (lua_type(L, -2) == LUA_TSTRING) {
          key = lua_tostring(L, -2);
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
          lua_pushvalue(L, -2);
          key = lua_tostring(L, -1);
          lua_pop(L, 1);
        } else {
          lua_pop(L, 2);
          fail(ErrorKind::invalid_input, "table keys must be strings or numbers");
        }
        obj[key] = to_json(L, -1);
        lua_pop(L, 1);
      }
      return obj;
    }
    default:
      fail(ErrorKind::invalid_input, std::string("cannot convert a ") + luaL_typename(L, idx) + " to data");
  }
}

void define_handle_type(lua_State* L, const char* tname, const luaL_Reg* methods, lua_CFunction tostring) {
  luaL_newmetatable(L, tname);
  lua_newtable(L);
  for (const luaL_Reg* m = methods; m && m->name; ++m) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, tname);
  lua_setfield(L, -2, "__name");
  if (tostring) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

void define_handle_gc(lua_State* L, const char* tname, lua_CFunction gc) {
  luaL_getmetatable(L, tname);
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

void* check_udata(lua_State* L, int idx, const char* tname) {
  void* p = lua_touserdata(L, idx);
  if (p && lua_getmetatable(L, idx)) {
    luaL_getmetatable(L, tname);
    bool same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same) return p;
  }
  fail(ErrorKind::invalid_input, std::string("bad argument #") + std::to_string(idx) + ": expected " + tname +
                                     ", got " + luaL_typename(L, idx));
}

ModuleRegistration::ModuleRegistration(const char* name, lua_CFunction open) {
  registry().emplace_back(name, open);
}

void open_host_modules(lua_State* L) {
  lua_newtable(L);
  for (const auto& [name, open] : registry()) {
    lua_pushcfunction(L, open);
    lua_call(L, 0, 1);
    lua_setfield(L, -2, name);
  }
  lua_setglobal(L, "_host");
}

}  // namespace banger::lua
