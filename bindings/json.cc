// _host.json: encode/decode through nlohmann-json, for --json output and
// catalog files.
#include <nlohmann/json.hpp>

#include "bindings/support.h"

namespace banger::lua {

namespace {

int json_encode(lua_State* L) {
  nlohmann::json v = to_json(L, 1);
  bool pretty = opt_boolean(L, 2, "pretty", false);
  std::string s = pretty ? v.dump(2) : v.dump();
  lua_pushlstring(L, s.data(), s.size());
  return 1;
}

int json_decode(lua_State* L) {
  std::string text = arg_string(L, 1, "text");
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  if (v.is_discarded()) fail(ErrorKind::invalid_input, "malformed JSON");
  push_json(L, v);
  return 1;
}

// array(t) -> t, marked to encode as a JSON array even when empty.
int json_array(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else if (lua_type(L, 1) != LUA_TTABLE) fail(ErrorKind::invalid_input, "json.array needs a table");
  mark_array(L, 1);
  lua_settop(L, 1);
  return 1;
}

const luaL_Reg kFuncs[] = {
    {"array", wrap<json_array>},
    {"encode", wrap<json_encode>},
    {"decode", wrap<json_decode>},
    {nullptr, nullptr},
};

int open_json(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(json, open_json);

}  // namespace banger::lua
