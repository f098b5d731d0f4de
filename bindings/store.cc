// _host.store: the state index (host/store/index.h) and file locks.
#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/core/lock.h"
#include "host/core/paths.h"
#include "host/core/staging_dir.h"
#include "host/store/index.h"
#include "host/store/staging.h"

namespace banger::lua {

namespace {

store::Index& idx() { return store::default_index(); }

int st_get(lua_State* L) {
  auto r = idx().get(arg_string(L, 1, "kind"), arg_string(L, 2, "name"));
  if (r) push_json(L, *r);
  else lua_pushnil(L);
  return 1;
}

int st_list(lua_State* L) {
  auto rows = idx().list(arg_string(L, 1, "kind"));
  push_json(L, nlohmann::json(rows));
  return 1;
}

int st_insert(lua_State* L) {
  idx().insert(arg_string(L, 1, "kind"), arg_string(L, 2, "name"), arg_table(L, 3, "data"));
  return 0;
}

int st_update(lua_State* L) {
  idx().update(arg_string(L, 1, "kind"), arg_string(L, 2, "name"), arg_table(L, 3, "data"));
  return 0;
}

int st_remove(lua_State* L) {
  lua_pushboolean(L, idx().remove(arg_string(L, 1, "kind"), arg_string(L, 2, "name")));
  return 1;
}

int st_publish(lua_State* L) {
  idx().publish(arg_string(L, 1, "kind"), arg_string(L, 2, "name"), arg_string(L, 3, "staging_dir"),
                arg_string(L, 4, "final_dir"), arg_table(L, 5, "data"));
  return 0;
}

int st_insert_with_address(lua_State* L) {
  long long a =
      idx().insert_with_address(arg_string(L, 1, "kind"), arg_string(L, 2, "name"), arg_table(L, 3, "data"),
                                arg_integer(L, 4, "first"), arg_integer(L, 5, "last"));
  lua_pushnumber(L, static_cast<lua_Number>(a));
  return 1;
}

int st_release_address(lua_State* L) {
  idx().release_address(arg_string(L, 1, "name"));
  return 0;
}

int st_address_of(lua_State* L) {
  auto a = idx().address_of(arg_string(L, 1, "name"));
  if (a) lua_pushnumber(L, static_cast<lua_Number>(*a));
  else lua_pushnil(L);
  return 1;
}

int st_schema_version(lua_State* L) {
  lua_pushinteger(L, idx().schema_version());
  return 1;
}

constexpr const char* kLockType = "banger.lock";

// lock(path, what, wait?) -> a lock handle; :release() or garbage collection frees it.
int st_lock(lua_State* L) {
  auto lock = std::make_shared<FileLock>(arg_string(L, 1, "path"), arg_string(L, 2, "what"),
                                         opt_boolean(L, 3, "wait", true));
  push_handle(L, std::move(lock), kLockType);
  return 1;
}

constexpr const char* kStagingType = "banger.staging";

// staging(prefix) -> path, handle: a locked staging dir under $BANGER_HOME/tmp.
// handle:release() before publishing it; garbage collection releases it too.
int st_staging(lua_State* L) {
  paths::ensure_layout();
  auto s = std::make_shared<fs::StagingDir>(paths::staging(), arg_string(L, 1, "prefix"),
                                            fs::StagingDir::OnExit::keep);
  lua_pushstring(L, s->path().c_str());
  push_handle(L, std::move(s), kStagingType);
  return 2;
}

int staging_release(lua_State* L) {
  arg_handle<fs::StagingDir>(L, 1, kStagingType)->release();
  return 0;
}

// reclaim_staging() -> bytes freed: removes staging dirs of dead processes.
int st_reclaim_staging(lua_State* L) {
  lua_pushnumber(L, static_cast<lua_Number>(store::reclaim_staging(paths::staging())));
  return 1;
}

const luaL_Reg kStagingMethods[] = {
    {"release", wrap<staging_release>},
    {nullptr, nullptr},
};

const luaL_Reg kLockMethods[] = {
    {"release", handle_release<FileLock>},
    {nullptr, nullptr},
};

const luaL_Reg kFuncs[] = {
    {"get", wrap<st_get>},
    {"list", wrap<st_list>},
    {"insert", wrap<st_insert>},
    {"update", wrap<st_update>},
    {"remove", wrap<st_remove>},
    {"publish", wrap<st_publish>},
    {"insert_with_address", wrap<st_insert_with_address>},
    {"release_address", wrap<st_release_address>},
    {"address_of", wrap<st_address_of>},
    {"schema_version", wrap<st_schema_version>},
    {"lock", wrap<st_lock>},
    {"staging", wrap<st_staging>},
    {"reclaim_staging", wrap<st_reclaim_staging>},
    {nullptr, nullptr},
};

int open_store(lua_State* L) {
  define_handle<FileLock>(L, kLockType, kLockMethods);
  define_handle<fs::StagingDir>(L, kStagingType, kStagingMethods);
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(store, open_store);

}  // namespace banger::lua
