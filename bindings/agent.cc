// _host.agent: the guest agent binary and inject_agents.
#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/agent/inject.h"
#include "host/ext4/editor.h"

namespace banger::lua {

namespace {

int agents_find(lua_State* L) {
  lua_pushstring(L, agents::find_agent_binary().c_str());
  return 1;
}

// inject(image_path, {agent=PATH}) -> {path=, bytes=, service_unit=PATH or ""}
int agents_inject(lua_State* L) {
  std::string image_path = arg_string(L, 1, "image");
  nlohmann::json opts = arg_table(L, 2, "opts");
  std::string agent = opts.contains("agent") ? opts["agent"].get<std::string>() : agents::find_agent_binary();
  auto image = ext4::Editor::open(image_path, true);
  agents::InjectResult r = agents::inject_agent(*image, agent);
  image->close();
  push_json(L, {{"path", r.path}, {"bytes", r.bytes}, {"service_unit", r.service_unit}});
  return 1;
}

// has_current(image_path) -> whether the image's agent is this banger's own.
int agents_has_current(lua_State* L) {
  auto image = ext4::Editor::open(arg_string(L, 1, "image"), false);
  lua_pushboolean(L, agents::has_agent(*image, agents::find_agent_binary()));
  return 1;
}

const luaL_Reg kFuncs[] = {
    {"has_current", wrap<agents_has_current>},
    {"find", wrap<agents_find>},
    {"inject", wrap<agents_inject>},
    {nullptr, nullptr},
};

int open_agent(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(agent, open_agent);

}  // namespace banger::lua
