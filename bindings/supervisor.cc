// _host.supervisor: starting a VM's supervisor and talking to it.
#include <chrono>

#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/supervisor/client.h"
#include "host/supervisor/spawn.h"
#include "host/supervisor/tree_copy.h"
#include "host/vm/spec_json.h"

namespace banger::lua {

namespace {

constexpr const char* kClientType = "banger.vm.client";

using supervisor::Client;

// spawn(spec_path, log_path, timeout_s) -> info. The caller (the vm_start
// recipe) decides how long a start may take.
int sv_spawn(lua_State* L) {
  auto info = supervisor::spawn(arg_string(L, 1, "spec_path"), arg_string(L, 2, "log_path"),
                                std::chrono::seconds(arg_integer(L, 3, "timeout")));
  push_json(L, info);
  return 1;
}

constexpr const char* kLaunchType = "banger.supervisor.Launch";

// launch(spec_path, log_path) -> handle; handle:wait(timeout_s) -> info:
// spawn in two steps, so several VMs start at once.
int sv_launch(lua_State* L) {
  auto launch = std::make_shared<supervisor::Launch>(
      supervisor::Launch::start(arg_string(L, 1, "spec_path"), arg_string(L, 2, "log_path")));
  push_handle(L, std::move(launch), kLaunchType);
  return 1;
}

int launch_wait(lua_State* L) {
  auto launch = arg_handle<supervisor::Launch>(L, 1, kLaunchType);
  push_json(L, launch->wait(std::chrono::seconds(arg_integer(L, 2, "timeout"))));
  return 1;
}

const luaL_Reg kLaunchMethods[] = {
    {"wait", wrap<launch_wait>},
    {nullptr, nullptr},
};

int sv_alive(lua_State* L) {
  lua_pushboolean(
      L, supervisor::supervisor_alive(static_cast<long>(arg_integer(L, 1, "pid")), arg_string(L, 2, "name")));
  return 1;
}

int sv_kill_vmm(lua_State* L) {
  lua_pushboolean(L, supervisor::kill_orphan_vmm(static_cast<long>(arg_integer(L, 1, "pid")),
                                                 arg_string(L, 2, "state_dir")));
  return 1;
}

// terminate(pid, name) -> bool: SIGTERM to the VM's live supervisor.
int sv_terminate(lua_State* L) {
  lua_pushboolean(L, supervisor::terminate_supervisor(static_cast<long>(arg_integer(L, 1, "pid")),
                                                      arg_string(L, 2, "name")));
  return 1;
}

// wait_exit(pid, name, timeout_s) -> false on timeout
int sv_wait_exit(lua_State* L) {
  lua_pushboolean(L, supervisor::wait_supervisor_exit(static_cast<long>(arg_integer(L, 1, "pid")),
                                                      arg_string(L, 2, "name"),
                                                      std::chrono::seconds(arg_integer(L, 3, "timeout"))));
  return 1;
}

// connect(socket_path, vm_name) -> client
int sv_connect(lua_State* L) {
  std::shared_ptr<Client> c = Client::connect(arg_string(L, 1, "socket"), arg_string(L, 2, "vm"));
  push_handle(L, std::move(c), kClientType);
  return 1;
}

// client:exec{argv=, env=, cwd=, user=, tty=, stdin=bool, forward_signals=, stdout_to_stderr=bool,
//   capture=bool} -> {exit_code, signal, guest_us[, stdout, stderr]}
// stdio is this process's own (stdin only when stdin=true; the command's
// stdout on our stderr with stdout_to_stderr, keeping stdout for --json),
// unless capture=true returns the output as strings instead.
int cl_exec(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  nlohmann::json o = arg_table(L, 2, "opts");
  supervisor::ExecOptions opts;
  std::string out, err;
  bool capture = false;
  // What is not the request is how this process wires it up.
  if (o.is_object()) {
    capture = o.value("capture", false);
    o.erase("capture");
    opts.stdin_fd = o.value("stdin", false) ? 0 : -1;
    opts.forward_signals = o.value("forward_signals", true);
    if (o.value("stdout_to_stderr", false)) opts.stdout_fd = 2;
    o.erase("stdin");
    o.erase("forward_signals");
    o.erase("stdout_to_stderr");
  }
  opts.request = vm::exec_request_from_json(o);
  if (capture) {
    opts.capture_stdout = &out;
    opts.capture_stderr = &err;
  }
  nlohmann::json result = vm::status_to_json(c->exec(opts));
  if (capture) {
    result["stdout"] = std::move(out);
    result["stderr"] = std::move(err);
  }
  push_json(L, result);
  return 1;
}

int cl_put(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  c->put_file(arg_string(L, 2, "local"), arg_string(L, 3, "guest"),
              static_cast<uint32_t>(opt_integer(L, 4, "mode").value_or(0644)),
              static_cast<uint32_t>(opt_integer(L, 5, "uid").value_or(0)),
              static_cast<uint32_t>(opt_integer(L, 6, "gid").value_or(0)));
  return 0;
}

int cl_get(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  lua_pushinteger(L, c->get_file(arg_string(L, 2, "guest"), arg_string(L, 3, "local")));
  return 1;
}

// client:copy_in(local, guest) / client:copy_out(guest, local): files and
// directories, docker cp's rules; "-" is a tar stream on stdin / stdout.
int cl_copy_in(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  supervisor::copy_in(*c, arg_string(L, 2, "local"), arg_string(L, 3, "guest"));
  return 0;
}

int cl_copy_out(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  supervisor::copy_out(*c, arg_string(L, 2, "guest"), arg_string(L, 3, "local"));
  return 0;
}

int cl_ports(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : c->ports())
    out.push_back({{"proto", p.proto}, {"address", p.address}, {"port", p.port}});
  push_json(L, out);
  return 1;
}

int cl_stats(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  auto s = c->stats();
  push_json(L, {{"mem_total_kib", s.mem_total_kib},
                {"mem_available_kib", s.mem_available_kib},
                {"cpu_user_ms", s.cpu_user_ms},
                {"cpu_system_ms", s.cpu_system_ms},
                {"cpu_idle_ms", s.cpu_idle_ms},
                {"load1", s.load1_centi / 100.0},
                {"processes", s.processes}});
  return 1;
}

int cl_info(lua_State* L) {
  push_json(L, arg_handle<Client>(L, 1, kClientType)->info());
  return 1;
}

int cl_stop(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  c->stop(static_cast<int>(opt_integer(L, 2, "timeout").value_or(30)), opt_boolean(L, 3, "now", false));
  return 0;
}

// client:control({op=, ...}, timeout_s) -> result (control.h's kControl)
int cl_control(lua_State* L) {
  auto c = arg_handle<Client>(L, 1, kClientType);
  nlohmann::json req = arg_table(L, 2, "request");
  push_json(L, c->control(req, static_cast<int>(opt_integer(L, 3, "timeout").value_or(60))));
  return 1;
}

const luaL_Reg kClientMethods[] = {
    {"control", wrap<cl_control>},   {"exec", wrap<cl_exec>},           {"put", wrap<cl_put>},
    {"get", wrap<cl_get>},           {"ports", wrap<cl_ports>},         {"copy_in", wrap<cl_copy_in>},
    {"copy_out", wrap<cl_copy_out>}, {"stats", wrap<cl_stats>},         {"info", wrap<cl_info>},
    {"stop", wrap<cl_stop>},         {"close", handle_release<Client>}, {nullptr, nullptr},
};

const luaL_Reg kFuncs[] = {
    {"spawn", wrap<sv_spawn>},         {"launch", wrap<sv_launch>},
    {"alive", wrap<sv_alive>},         {"kill_vmm", wrap<sv_kill_vmm>},
    {"terminate", wrap<sv_terminate>}, {"wait_exit", wrap<sv_wait_exit>},
    {"connect", wrap<sv_connect>},     {nullptr, nullptr},
};

int open_supervisor(lua_State* L) {
  define_handle<Client>(L, kClientType, kClientMethods);
  define_handle<supervisor::Launch>(L, kLaunchType, kLaunchMethods);
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(supervisor, open_supervisor);

}  // namespace banger::lua
