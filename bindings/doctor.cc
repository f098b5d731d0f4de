// _host.doctor: the host checks behind `banger doctor` (host/doctor/checks.h).
#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/doctor/build_mode.h"
#include "host/doctor/checks.h"
#include "host/doctor/state.h"
#include "host/net/config.h"

namespace banger::lua {

namespace {

// checks() -> {{name, ok, status, essential, detail, fix}, ...}
int doctor_checks(lua_State* L) {
  nlohmann::json out = nlohmann::json::array();
  auto checks = doctor::run_checks(doctor::default_inputs());
  for (auto& c : doctor::state_checks()) checks.push_back(std::move(c));
  for (const auto& c : checks)
    out.push_back({{"name", c.name},
                   {"ok", c.ok()},
                   {"status", c.status},
                   {"essential", c.essential},
                   {"detail", c.detail},
                   {"fix", c.fix}});
  push_json(L, out);
  return 1;
}

// mmdebstrap_mode() -> {mode="root"|"unshare", missing={...}, fix=}
int doctor_mmdebstrap_mode(lua_State* L) {
  auto m = doctor::mmdebstrap_mode(doctor::default_build_mode_inputs());
  push_json(L, {{"mode", m.mode}, {"missing", m.missing}, {"fix", m.fix}});
  return 1;
}

// repair() -> {"what was done", ...}: banger doctor --repair.
int doctor_repair(lua_State* L) {
  auto subnet = net::config_from_env().subnet;
  push_json(L, nlohmann::json(doctor::repair(subnet.first(), subnet.last())));
  return 1;
}

const luaL_Reg kFuncs[] = {
    {"checks", wrap<doctor_checks>},
    {"mmdebstrap_mode", wrap<doctor_mmdebstrap_mode>},
    {"repair", wrap<doctor_repair>},
    {nullptr, nullptr},
};

int open_doctor(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(doctor, open_doctor);

}  // namespace banger::lua
