// _host.progress: the shared progress reporter (host/core/progress.h).
#include "host/core/progress.h"
#include "bindings/support.h"

namespace banger::lua {

namespace {

int p_set_mode(lua_State* L) {
  std::string m = arg_string(L, 1, "mode");
  progress::Mode mode = m == "bars"    ? progress::Mode::bars
                        : m == "lines" ? progress::Mode::lines
                        : m == "quiet" ? progress::Mode::quiet
                                       : progress::Mode::automatic;
  progress::set_mode(mode);
  return 0;
}

int p_stage(lua_State* L) {
  progress::stage(arg_string(L, 1, "text"));
  return 0;
}

int p_note(lua_State* L) {
  progress::note(arg_string(L, 1, "text"));
  return 0;
}

int p_start(lua_State* L) {
  lua_pushinteger(L, progress::start(arg_string(L, 1, "label"), opt_integer(L, 2, "total").value_or(0)));
  return 1;
}

int p_update(lua_State* L) {
  progress::update(static_cast<int>(arg_integer(L, 1, "id")), arg_integer(L, 2, "done"));
  return 0;
}

int p_finish(lua_State* L) {
  progress::finish(static_cast<int>(arg_integer(L, 1, "id")));
  return 0;
}

const luaL_Reg kFuncs[] = {
    {"set_mode", wrap<p_set_mode>},
    {"stage", wrap<p_stage>},
    {"note", wrap<p_note>},
    {"start", wrap<p_start>},
    {"update", wrap<p_update>},
    {"finish", wrap<p_finish>},
    {nullptr, nullptr},
};

int open_progress(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(progress, open_progress);

}  // namespace banger::lua
