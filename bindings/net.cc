// _host.net: tap networking (host/net/tap.h), privilege, SSH key pair and
// config, and egress policies (host/net/egress.h):
//   _host.net.check_egress(rules, add_hosts[, hook_source, hook_name]) -> "all" | "none" | "RULE, RULE"
//     (invalid_input naming a bad rule or pin)
// Every call reads the config from the environment (BANGER_SUBNET,
// BANGER_BRIDGE, BANGER_DNS, BANGER_HOME).
#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/net/config.h"
#include "host/net/egress.h"
#include "host/net/privilege.h"
#include "host/net/ssh.h"
#include "host/net/tap.h"
#include "host/store/index.h"
#include "host/supervisor/spawn.h"

namespace banger::lua {

namespace {

using Json = nlohmann::json;

Json tap_json(const net::TapSetup& t) {
  return {{"tap", t.tap},
          {"mac", t.mac},
          {"ip", t.ip},
          {"address", t.address()},
          {"gateway", t.gateway},
          {"prefix", t.prefix},
          {"dns", t.dns},
          // vm::NetSpec's fields for tap mode, ready for the VM spec's `net`.
          {"net_spec",
           {{"mode", "tap"},
            {"tap", t.tap},
            {"mac", t.mac},
            {"address", t.address()},
            {"gateway", t.gateway},
            {"dns", t.dns_list()}}}};
}

// A list of strings from a Lua sequence (an empty table is an empty list).
std::vector<std::string> arg_string_list(lua_State* L, int idx, const char* name) {
  Json j = arg_table(L, idx, name);
  std::vector<std::string> out;
  if (j.is_object() && j.empty()) return out;
  if (!j.is_array()) fail(ErrorKind::invalid_input, std::string(name) + " must be a list of strings");
  for (const auto& v : j) {
    if (!v.is_string()) fail(ErrorKind::invalid_input, std::string(name) + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

int net_ensure_bridge(lua_State* L) {
  net::ensure_bridge(net::config_from_env());
  return 0;
}

// setup_tap(name, address_index) -> {tap, mac, ip, address, gateway, prefix, dns, net_spec}
int net_setup_tap(lua_State* L) {
  auto name = arg_string(L, 1, "name");
  auto index = arg_integer(L, 2, "address_index");
  push_json(L, tap_json(net::setup_tap(net::config_from_env(), name, index)));
  return 1;
}

// describe_tap(name, address_index): what setup_tap returns, with no side effect.
int net_describe_tap(lua_State* L) {
  auto name = arg_string(L, 1, "name");
  auto index = arg_integer(L, 2, "address_index");
  push_json(L, tap_json(net::describe_tap(net::config_from_env(), name, index)));
  return 1;
}

int net_allow_host_port(lua_State* L) {
  auto name = arg_string(L, 1, "name");
  auto index = arg_integer(L, 2, "address_index");
  auto port = arg_integer(L, 3, "port");
  auto proto = opt_string(L, 4, "proto").value_or("tcp");
  net::allow_host_port(net::config_from_env(), name, index, static_cast<int>(port), proto);
  return 0;
}

int net_teardown(lua_State* L) {
  lua_pushboolean(L, net::teardown(net::config_from_env(), arg_string(L, 1, "name")));
  return 1;
}

int net_reconcile(lua_State* L) {
  auto names = arg_string_list(L, 1, "names");
  // Asked again under the network lock: a VM whose supervisor recorded it
  // after `names` was listed is setting up its tap right now.
  auto alive = [](const std::string& vm) {
    auto rec = store::default_index().get("vm", vm);
    if (!rec) return false;
    std::string state = rec->value("state", "");
    long pid = (*rec)["supervisor_pid"].is_number() ? (*rec)["supervisor_pid"].get<long>() : 0;
    return (state == "starting" || state == "running" || state == "stopping") &&
           supervisor::supervisor_alive(pid, vm);
  };
  push_json(L, Json(net::reconcile(net::config_from_env(), names, alive)));
  return 1;
}

// pool() -> {subnet, gateway, prefix, first, last, bridge}: the address pool
// to reserve from (store.insert_with_address(kind, name, data, first, last)).
int net_pool(lua_State* L) {
  auto c = net::config_from_env();
  push_json(L, {{"subnet", c.subnet.cidr()},
                {"gateway", c.subnet.gateway()},
                {"prefix", c.subnet.prefix},
                {"first", c.subnet.first()},
                {"last", c.subnet.last()},
                {"bridge", c.bridge}});
  return 1;
}

int net_default_mode(lua_State* L) {
  lua_pushstring(L, net::default_mode().c_str());
  return 1;
}

int net_privileged(lua_State* L) {
  lua_pushboolean(L, net::privileged());
  return 1;
}

// ssh_keypair() -> {private, public, public_key_text}
int net_ssh_keypair(lua_State* L) {
  auto k = net::ensure_keypair(net::ssh_dir());
  push_json(L,
            {{"private", k.private_key}, {"public", k.public_key}, {"public_key_text", k.public_key_text}});
  return 1;
}

// write_ssh_config({{name=, address=}, ...}) -> path
int net_write_ssh_config(lua_State* L) {
  Json list = arg_table(L, 1, "hosts");
  std::vector<net::SshHost> hosts;
  if (!(list.is_object() && list.empty())) {
    if (!list.is_array()) fail(ErrorKind::invalid_input, "hosts must be a list of {name=, address=}");
    for (const auto& h : list) {
      if (!h.is_object() || !h.contains("name") || !h.contains("address") || !h["name"].is_string() ||
          !h["address"].is_string())
        fail(ErrorKind::invalid_input, "hosts must be a list of {name=, address=}");
      hosts.push_back({h["name"].get<std::string>(), h["address"].get<std::string>()});
    }
  }
  lua_pushstring(L, net::write_ssh_config(net::ssh_dir(), hosts).c_str());
  return 1;
}

// ssh_paths() -> {dir, config, identity, include}
int net_ssh_paths(lua_State* L) {
  std::string dir = net::ssh_dir();
  push_json(L, {{"dir", dir},
                {"config", dir + "/config"},
                {"identity", dir + "/id_ed25519"},
                {"include", net::include_line(dir)}});
  return 1;
}

// check_egress(rules, add_hosts[, hook_source, hook_name]): parses them
// (and loads the hook) as the supervisor will, and describes the policy.
int net_check_egress(lua_State* L) {
  std::vector<std::string> pins;
  if (!lua_isnoneornil(L, 2)) pins = arg_string_list(L, 2, "add_hosts");
  net::EgressPolicy p =
      net::parse_egress(arg_string_list(L, 1, "rules"), pins, opt_string(L, 3, "hook_source").value_or(""),
                        opt_string(L, 4, "hook_name").value_or(""));
  std::string d = p.describe();
  lua_pushlstring(L, d.data(), d.size());
  return 1;
}

const luaL_Reg kFuncs[] = {
    {"ensure_bridge", wrap<net_ensure_bridge>},
    {"check_egress", wrap<net_check_egress>},
    {"setup_tap", wrap<net_setup_tap>},
    {"describe_tap", wrap<net_describe_tap>},
    {"allow_host_port", wrap<net_allow_host_port>},
    {"teardown", wrap<net_teardown>},
    {"reconcile", wrap<net_reconcile>},
    {"pool", wrap<net_pool>},
    {"default_mode", wrap<net_default_mode>},
    {"privileged", wrap<net_privileged>},
    {"ssh_keypair", wrap<net_ssh_keypair>},
    {"write_ssh_config", wrap<net_write_ssh_config>},
    {"ssh_paths", wrap<net_ssh_paths>},
    {nullptr, nullptr},
};

int open_net(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(net, open_net);

}  // namespace banger::lua
