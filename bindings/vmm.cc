// _host.vmm: starting a VM in this process and driving it through its agent
// (host/vm). The per-VM supervisor (_host.supervisor) is what the vm_*
// recipes use; this module is the primitive under it, for scripts, tests and
// the REPL.
//
//   local h = _host.vmm.start{name=, kernel=, initrd=, rootfs=, state_dir=, ...}
//   h:exec{argv={"cat", "/etc/os-release"}} -> {exit_code=, signal=, stdout=, stderr=, guest_us=}
//   h:exec_stream({argv=...}, {stdout=fn, stderr=fn, stdin=true}) -> {exit_code=, signal=, guest_us=}
//   h:info() h:running() h:stop(timeout_s) h:wait(timeout_s) h:close()
//   _host.vmm.create_overlay(rootfs, state_dir, name[, size]) -> overlay path
//   _host.vmm.flatten_disk(disk, out, what) -> nothing: a VM's disk as a raw image file
//   _host.vmm.check_mount(host, guest) -> nothing, or the error a VM with that mount would raise
#include <unistd.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/supervisor/virtiofs.h"
#include "host/vm/qemu_command.h"
#include "host/vm/spec_json.h"
#include "host/vm/vm.h"

namespace banger::lua {

namespace {

constexpr const char* kVmType = "banger.vmm";
using Json = nlohmann::json;

int vm_start(lua_State* L) {
  vm::Spec spec = vm::spec_from_json(arg_table(L, 1, "spec"));
  std::shared_ptr<vm::Vm> v = vm::start(spec);
  push_handle(L, std::move(v), kVmType);
  return 1;
}

// create_overlay(rootfs, state_dir, name[, size[, backing_format]]) -> overlay:
// VM `name`'s qcow2 disk over `rootfs` (`size` bytes, default the image's;
// backing_format "qcow2" for a snapshot's frozen disk), where vm.start looks for it.
int vm_create_overlay(lua_State* L) {
  std::string overlay = vm::default_overlay(arg_string(L, 2, "state_dir"));
  vm::create_overlay(arg_string(L, 1, "rootfs"), overlay, arg_string(L, 3, "name"),
                     static_cast<uint64_t>(opt_integer(L, 4, "size").value_or(0)),
                     opt_string(L, 5, "backing_format").value_or("raw"));
  lua_pushlstring(L, overlay.data(), overlay.size());
  return 1;
}

// flatten_disk(disk, out, what): `disk` (a qcow2 overlay and its backing
// chain) as the raw disk `out`, sparse and fsynced; `what` names it in errors.
int vm_flatten_disk(lua_State* L) {
  vm::flatten_disk(arg_string(L, 1, "disk"), arg_string(L, 2, "out"), arg_string(L, 3, "what"));
  return 0;
}

// check_mount(host, guest): what vm.start checks of a mount (host: an
// existing directory, absolute; guest: a directory the guest may mount on),
// and that this process can serve one (root, virtiofsd installed).
int vm_check_mount(lua_State* L) {
  vm::check_mount_host(arg_string(L, 1, "host"));
  vm::check_mount_path(arg_string(L, 2, "guest"));
  supervisor::check_can_mount();
  return 0;
}

int vm_info(lua_State* L) {
  auto v = arg_handle<vm::Vm>(L, 1, kVmType);
  Json info = vm::info_to_json(v->info());
  info["running"] = v->running();
  push_json(L, info);
  return 1;
}

int vm_running(lua_State* L) {
  lua_pushboolean(L, arg_handle<vm::Vm>(L, 1, kVmType)->running());
  return 1;
}

int vm_exec(lua_State* L) {
  auto v = arg_handle<vm::Vm>(L, 1, kVmType);
  vm::ExecRequest req = vm::exec_request_from_json(arg_table(L, 2, "request"));
  vm::ExecResult r = v->exec(req);
  Json out = vm::status_to_json(r);
  out["stdout"] = r.out;
  out["stderr"] = r.err;
  push_json(L, out);
  return 1;
}

// Calls the Lua function at stack index `fn` with `data`, protected; a Lua
// error becomes a C++ exception (thrown after lua_pcall has returned).
void call_sink(lua_State* L, int fn, std::string_view data, const char* name) {
  lua_pushvalue(L, fn);
  lua_pushlstring(L, data.data(), data.size());
  call_lua(L, 1, 0, std::string("exec_stream: the ") + name + " callback");
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // a closed stdout: drop the output, the command still finishes
    }
    data.remove_prefix(n);
  }
}

// exec_stream(request, {stdout=fn|nil, stderr=fn|nil, stdin=bool}):
// without a callback the stream goes to this process's stdout/stderr;
// stdin=true copies this process's stdin to the command.
int vm_exec_stream(lua_State* L) {
  auto v = arg_handle<vm::Vm>(L, 1, kVmType);
  vm::ExecRequest req = vm::exec_request_from_json(arg_table(L, 2, "request"));
  vm::StreamIO io;
  int out_fn = 0, err_fn = 0;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "stdout");
    if (lua_isfunction(L, -1)) out_fn = lua_gettop(L);
    else lua_pop(L, 1);
    lua_getfield(L, 3, "stderr");
    if (lua_isfunction(L, -1)) err_fn = lua_gettop(L);
    else lua_pop(L, 1);
    lua_getfield(L, 3, "stdin");
    if (lua_toboolean(L, -1)) io.stdin_fd = 0;
    lua_pop(L, 1);
  } else if (!lua_isnoneornil(L, 3)) {
    fail(ErrorKind::invalid_input, "exec_stream: the third argument must be a table of callbacks");
  }
  if (out_fn) io.on_stdout = [L, out_fn](std::string_view d) { call_sink(L, out_fn, d, "stdout"); };
  else io.on_stdout = [](std::string_view d) { write_all(1, d); };
  if (err_fn) io.on_stderr = [L, err_fn](std::string_view d) { call_sink(L, err_fn, d, "stderr"); };
  else io.on_stderr = [](std::string_view d) { write_all(2, d); };
  vm::ExecResult r = v->exec_stream(req, io);
  push_json(L, vm::status_to_json(r));
  return 1;
}

int vm_stop(lua_State* L) {
  auto v = arg_handle<vm::Vm>(L, 1, kVmType);
  auto timeout = opt_integer(L, 2, "timeout").value_or(10);
  lua_pushinteger(L, v->stop(std::chrono::seconds(timeout)));
  return 1;
}

int vm_wait(lua_State* L) {
  auto v = arg_handle<vm::Vm>(L, 1, kVmType);
  auto timeout = opt_integer(L, 2, "timeout");
  std::optional<int> st = timeout ? v->wait(std::chrono::milliseconds(*timeout * 1000)) : v->wait();
  if (st) lua_pushinteger(L, *st);
  else lua_pushnil(L);
  return 1;
}

int vm_tostring(lua_State* L) {
  auto* h = static_cast<Handle<vm::Vm>*>(lua_touserdata(L, 1));
  if (!h || !h->ptr) lua_pushstring(L, "vm (closed)");
  else
    lua_pushfstring(L, "vm %s (qemu pid %d)", h->ptr->info().name.c_str(),
                    static_cast<int>(h->ptr->info().pid));
  return 1;
}

const luaL_Reg kVmMethods[] = {
    {"info", wrap<vm_info>},           {"running", wrap<vm_running>},
    {"exec", wrap<vm_exec>},           {"exec_stream", wrap<vm_exec_stream>},
    {"stop", wrap<vm_stop>},           {"wait", wrap<vm_wait>},
    {"close", handle_release<vm::Vm>}, {nullptr, nullptr},
};

const luaL_Reg kFuncs[] = {
    {"start", wrap<vm_start>},
    {"create_overlay", wrap<vm_create_overlay>},
    {"flatten_disk", wrap<vm_flatten_disk>},
    {"check_mount", wrap<vm_check_mount>},
    {nullptr, nullptr},
};

int open_vm(lua_State* L) {
  define_handle<vm::Vm>(L, kVmType, kVmMethods, vm_tostring);
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  lua_pushinteger(L, static_cast<lua_Integer>(vm::kMaxMounts));
  lua_setfield(L, -2, "max_mounts");
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(vmm, open_vm);

}  // namespace banger::lua
