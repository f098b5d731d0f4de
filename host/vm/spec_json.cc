#include "host/vm/spec_json.h"

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/vm/vm.h"

namespace banger::vm {

namespace {

using Json = nlohmann::json;

bool absent(const Json& j, const char* key) { return !j.contains(key) || j[key].is_null(); }

std::string str(const Json& j, const char* key, const std::string& what, const std::string& fallback) {
  if (absent(j, key)) return fallback;
  if (!j[key].is_string()) fail(ErrorKind::invalid_input, what + "." + key + " must be a string");
  return j[key].get<std::string>();
}

int num(const Json& j, const char* key, const std::string& what, long long fallback) {
  if (absent(j, key)) return static_cast<int>(fallback);
  if (!j[key].is_number()) fail(ErrorKind::invalid_input, what + "." + key + " must be a number");
  return static_cast<int>(j[key].get<long long>());
}

// The elements of list `key`; {} (Lua's empty table) is an empty list.
const Json& list(const Json& j, const char* key, const std::string& what) {
  static const Json kEmpty = Json::array();
  if (absent(j, key)) return kEmpty;
  const Json& v = j[key];
  if (v.is_object() && v.empty()) return kEmpty;
  if (!v.is_array()) fail(ErrorKind::invalid_input, what + "." + key + " must be a list");
  return v;
}

std::vector<std::string> strings(const Json& j, const char* key, const std::string& what) {
  std::vector<std::string> out;
  for (const auto& x : list(j, key, what)) {
    if (!x.is_string()) fail(ErrorKind::invalid_input, what + "." + key + " must be a list of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

NetSpec net_from(const Json& n) {
  const std::string w = "vm spec.net";
  check_keys(n,
             {"mode", "forwards", "allow_host", "tap", "mac", "address", "gateway", "dns", "egress",
              "add_hosts", "egress_hook", "egress_hook_name"},
             w);
  NetSpec s;
  s.mode = str(n, "mode", w, s.mode);
  s.tap = str(n, "tap", w, "");
  s.mac = str(n, "mac", w, "");
  s.address = str(n, "address", w, "");
  s.gateway = str(n, "gateway", w, "");
  s.dns = str(n, "dns", w, "");
  s.egress = strings(n, "egress", w);
  s.add_hosts = strings(n, "add_hosts", w);
  s.egress_hook = str(n, "egress_hook", w, "");
  s.egress_hook_name = str(n, "egress_hook_name", w, "");
  for (const auto& f : list(n, "forwards", w)) {
    const std::string fw = "port forward";
    check_keys(f, {"proto", "host_addr", "host_port", "guest_port"}, fw);
    PortForward pf;
    pf.proto = str(f, "proto", fw, pf.proto);
    pf.host_addr = str(f, "host_addr", fw, pf.host_addr);
    pf.host_port = num(f, "host_port", fw, 0);
    pf.guest_port = num(f, "guest_port", fw, 0);
    s.forwards.push_back(pf);
  }
  for (const auto& h : list(n, "allow_host", w)) {
    const std::string hw = "allowed host port";
    check_keys(h, {"proto", "port"}, hw);
    HostPort hp;
    hp.proto = str(h, "proto", hw, hp.proto);
    hp.port = num(h, "port", hw, 0);
    s.allow_host.push_back(hp);
  }
  return s;
}

}  // namespace

void check_keys(const Json& j, std::initializer_list<const char*> known, const std::string& what) {
  if (!j.is_object()) fail(ErrorKind::invalid_input, what + " must be a table");
  for (const auto& [k, v] : j.items()) {
    bool ok = false;
    for (const char* key : known) ok = ok || k == key;
    if (!ok)
      fail(ErrorKind::invalid_input, what + ": unknown key '" + k + "'",
           "see lua/stdlib/banger/vmm.lua for the keys a " + what + " takes");
  }
}

Spec spec_from_json(const Json& j) {
  const std::string w = "vm spec";
  check_keys(j,
             {"name", "kernel", "initrd", "cmdline", "init", "rootfs", "overlay", "cpus", "memory_mib",
              "state_dir", "net", "accel", "ready_timeout_ms", "qemu", "workspace_disk", "workspace_path",
              "workspace_later", "mounts", "restore"},
             w);
  Spec s;
  s.name = str(j, "name", w, "");
  s.kernel = str(j, "kernel", w, "");
  s.initrd = str(j, "initrd", w, "");
  s.cmdline = str(j, "cmdline", w, "");
  s.init = str(j, "init", w, "");
  s.rootfs = str(j, "rootfs", w, "");
  s.overlay = str(j, "overlay", w, "");
  s.cpus = num(j, "cpus", w, s.cpus);
  s.memory_mib = num(j, "memory_mib", w, s.memory_mib);
  s.state_dir = str(j, "state_dir", w, "");
  s.accel = str(j, "accel", w, s.accel);
  s.ready_timeout = std::chrono::milliseconds(num(j, "ready_timeout_ms", w, s.ready_timeout.count()));
  s.qemu = str(j, "qemu", w, s.qemu);
  s.workspace_disk = str(j, "workspace_disk", w, "");
  s.workspace_path = str(j, "workspace_path", w, s.workspace_path);
  if (!absent(j, "workspace_later")) {
    if (!j["workspace_later"].is_boolean())
      fail(ErrorKind::invalid_input, w + ".workspace_later must be a boolean");
    s.workspace_later = j["workspace_later"].get<bool>();
  }
  if (!absent(j, "net")) s.net = net_from(j["net"]);
  for (const auto& m : list(j, "mounts", w)) {
    const std::string mw = "vm spec.mounts[]";
    check_keys(m, {"host", "guest", "read_only"}, mw);
    Mount mount;
    mount.host = str(m, "host", mw, "");
    mount.guest = str(m, "guest", mw, "");
    if (!absent(m, "read_only")) {
      if (!m["read_only"].is_boolean()) fail(ErrorKind::invalid_input, mw + ".read_only must be a boolean");
      mount.read_only = m["read_only"].get<bool>();
    }
    s.mounts.push_back(mount);
  }
  if (!absent(j, "restore")) {
    const Json& r = j["restore"];
    const std::string rw = "vm spec.restore";
    check_keys(r, {"snapshot", "state", "memory", "qemu_version", "shape_digest"}, rw);
    s.restore.snapshot = str(r, "snapshot", rw, "");
    s.restore.state = str(r, "state", rw, "");
    s.restore.memory = str(r, "memory", rw, "");
    s.restore.qemu_version = str(r, "qemu_version", rw, "");
    s.restore.shape_digest = str(r, "shape_digest", rw, "");
    if (s.restore.state.empty() || s.restore.snapshot.empty())
      fail(ErrorKind::invalid_input, rw + " needs a snapshot and its state file");
  }
  return s;
}

Json info_to_json(const Info& i) {
  return {{"name", i.name},
          {"qemu_pid", i.pid},
          {"state_dir", i.state_dir},
          {"console_log", i.console_log},
          {"qemu_log", i.qemu_log},
          {"overlay", i.overlay},
          {"accel", i.accel},
          {"accel_reason", i.accel_reason},
          {"agent", i.agent},
          {"capabilities", i.capabilities},
          {"mode", i.mode},
          {"hostname", i.hostname},
          {"kernel", i.kernel},
          {"boot",
           {{"kernel_to_init_ms", i.boot.kernel_to_init_ms},
            {"init_to_ready_ms", i.boot.init_to_ready_ms},
            {"guest_uptime_ms", i.boot.guest_uptime_ms},
            {"host_ready_ms", i.boot.host_ready_ms}}},
          {"qemu_argv", i.qemu_argv},
          {"qmp_socket", i.qmp_socket},
          {"restored_from", i.restored_from}};
}

ExecRequest exec_request_from_json(const Json& j) {
  const std::string w = "exec request";
  check_keys(j, {"argv", "env", "cwd", "user", "tty"}, w);
  ExecRequest r;
  r.argv = strings(j, "argv", w);
  if (r.argv.empty()) fail(ErrorKind::invalid_input, "exec: argv must be a non-empty list of strings");
  r.env = strings(j, "env", w);
  r.cwd = str(j, "cwd", w, "");
  r.user = str(j, "user", w, "");
  if (!absent(j, "tty")) {
    if (!j["tty"].is_boolean()) fail(ErrorKind::invalid_input, w + ".tty must be a boolean");
    r.tty = j["tty"].get<bool>();
  }
  return r;
}

Json status_to_json(const ExecStatus& s) {
  return {{"exit_code", s.exit_code}, {"signal", s.signal}, {"guest_us", s.guest_us}};
}

}  // namespace banger::vm
