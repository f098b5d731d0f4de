// Egress hooks in Lua (host/net/egress_hook.h): each hook is a LuaJIT state
// of its own with only the base, string, table and math libraries, none of
// what reaches the host (no io, os, require, load, debug, ffi, jit), and the
// JIT off so that the instruction hook that bounds a call in time always
// runs (LuaJIT does not call hooks in compiled code). A call that errors,
// runs past kBudget or returns anything but allow denies, and says so.
#include <chrono>

#include <lua.hpp>

#include "host/core/error.h"
#include "host/net/egress_hook.h"
#include "host/net/guest_filter.h"

namespace banger::lua {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBudget = std::chrono::milliseconds(50);
constexpr int kCheckEvery = 1000;  // instructions between clock reads

// What the hook may not have: the rest of the base library that loads code
// or reaches outside the state, pcall and xpcall (a hook that catches the
// time limit's error would run on), and string functions that make large
// values from small calls (the hook's memory is not capped otherwise).
const char* const kRemovedGlobals[] = {"dofile",  "loadfile", "load",           "loadstring",
                                       "require", "module",   "collectgarbage", "getfenv",
                                       "setfenv", "newproxy", "print",          "gcinfo"};
const char* const kRemovedString[] = {"dump", "rep"};

thread_local Clock::time_point g_deadline;  // of the call in progress on this thread
thread_local bool g_timed_out = false;

void on_count(lua_State* L, lua_Debug*) {
  if (Clock::now() <= g_deadline) return;
  g_timed_out = true;
  luaL_error(L, "took longer than %d ms", static_cast<int>(kBudget.count()));
}

std::string dotted(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

class LuaEgressHook : public net::EgressHook {
 public:
  LuaEgressHook(const std::string& source, const std::string& name) : name_(name) {
    L_ = luaL_newstate();
    if (!L_) fail(ErrorKind::internal, "egress hook " + name + ": no Lua state");
    luaJIT_setmode(L_, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    for (lua_CFunction open : {luaopen_base, luaopen_table, luaopen_string, luaopen_math}) {
      lua_pushcfunction(L_, open);
      lua_call(L_, 0, 0);
    }
    for (const char* g : kRemovedGlobals) {
      lua_pushnil(L_);
      lua_setglobal(L_, g);
    }
    lua_getglobal(L_, "string");
    for (const char* f : kRemovedString) {
      lua_pushnil(L_);
      lua_setfield(L_, -2, f);
    }
    lua_pop(L_, 1);
    std::string chunk = "@" + name;
    if (luaL_loadbuffer(L_, source.data(), source.size(), chunk.c_str()) != 0)
      fail_load(lua_tostring(L_, -1));
    g_deadline = Clock::now() + kBudget;
    lua_sethook(L_, on_count, LUA_MASKCOUNT, kCheckEvery);
    if (lua_pcall(L_, 0, 1, 0) != 0) fail_load(lua_tostring(L_, -1));
    // A file returns the function; a dumped function is the function itself.
    if (!lua_isfunction(L_, -1)) {
      if (lua_type(L_, -1) != LUA_TNIL)
        fail_load("it must return a function(conn), got a " + std::string(luaL_typename(L_, -1)));
      fail_load("it must return a function(conn), got nothing");
    }
    ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
  }
  ~LuaEgressHook() override { lua_close(L_); }

  bool decide(const net::EgressAttempt& a, std::string& why) override {
    lua_settop(L_, 0);
    lua_rawgeti(L_, LUA_REGISTRYINDEX, ref_);
    lua_createtable(L_, 0, 4);
    lua_pushstring(L_, a.proto.c_str());
    lua_setfield(L_, -2, "proto");
    lua_pushstring(L_, dotted(a.dst).c_str());
    lua_setfield(L_, -2, "dst_ip");
    lua_pushinteger(L_, a.port);
    lua_setfield(L_, -2, "dst_port");
    if (!a.name.empty()) {
      lua_pushstring(L_, a.name.c_str());
      lua_setfield(L_, -2, "name");
    }
    g_deadline = Clock::now() + kBudget;
    g_timed_out = false;
    if (lua_pcall(L_, 1, 1, 0) != 0) {
      const char* msg = lua_tostring(L_, -1);
      why = g_timed_out ? "hook: took longer than " + std::to_string(kBudget.count()) + " ms"
                        : std::string("hook: error: ") + (msg ? msg : "(no message)");
      return false;
    }
    bool allow = (lua_isboolean(L_, -1) && lua_toboolean(L_, -1)) ||
                 (lua_type(L_, -1) == LUA_TSTRING && std::string(lua_tostring(L_, -1)) == "allow");
    bool deny = lua_isnil(L_, -1) || (lua_isboolean(L_, -1) && !lua_toboolean(L_, -1)) ||
                (lua_type(L_, -1) == LUA_TSTRING && std::string(lua_tostring(L_, -1)) == "deny");
    if (allow || deny) {
      why = "hook";
      return allow;
    }
    why = std::string("hook: returned a ") + luaL_typename(L_, -1) + ", not allow or deny";
    return false;
  }

 private:
  [[noreturn]] void fail_load(const std::string& msg) {
    lua_close(L_);  // a constructor that throws runs no destructor
    L_ = nullptr;
    fail(ErrorKind::invalid_input, "egress hook " + name_ + ": " + msg,
         "it returns function(conn) ... end, which returns \"allow\" or \"deny\" (or true or false)");
  }

  lua_State* L_ = nullptr;
  int ref_ = LUA_NOREF;
  std::string name_;
};

std::unique_ptr<net::EgressHook> make_hook(const std::string& source, const std::string& name) {
  return std::make_unique<LuaEgressHook>(source, name);
}

// Registered when the binary starts, for the CLI's check and the supervisor.
struct Register {
  Register() { net::set_egress_hook_factory(make_hook); }
} g_register;

}  // namespace

}  // namespace banger::lua
