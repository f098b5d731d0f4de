// A VM spec, a VM's info and an exec request and its result as JSON: the one
// parser and the one serializer of each. The supervisor reads its spec file
// with them, _host.vmm and _host.supervisor read Lua tables converted to JSON,
// so a key has one name and one default everywhere.
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "host/vm/exec_session.h"
#include "host/vm/spec.h"

namespace banger::vm {

struct Info;

// Parses a spec strictly: an unknown key, or a value of the wrong type, is an
// invalid_input error naming it ("vm spec.net: unknown key 'host_port'").
// Missing keys take the defaults in spec.h; values are checked by
// vm::start (check_spec). An empty object stands for an empty list (Lua's
// empty table).
//
//   { name, kernel, initrd, cmdline, init, rootfs, overlay, cpus, memory_mib,
//     state_dir, accel, ready_timeout_ms, qemu,
//     net: { mode, tap, mac, address, gateway, dns,
//            forwards: [{proto, host_addr, host_port, guest_port}],
//            allow_host: [{proto, port}] } }
Spec spec_from_json(const nlohmann::json& j);

// An invalid_input error naming the first key of `j` not in `known` (and
// one when `j` is not an object); `what` names the object in it.
void check_keys(const nlohmann::json& j, std::initializer_list<const char*> known, const std::string& what);

// Everything a caller may show about a started VM: name, qemu_pid, accel,
// accel_reason, agent, capabilities, mode, hostname, kernel, the log and disk
// paths, boot timings and the QEMU command line.
nlohmann::json info_to_json(const Info& info);

// {argv, env, cwd, user, tty}, strictly like spec_from_json; argv must be a
// non-empty list of strings.
ExecRequest exec_request_from_json(const nlohmann::json& j);

// {exit_code, signal, guest_us}.
nlohmann::json status_to_json(const ExecStatus& status);

}  // namespace banger::vm
