// The per-VM supervisor: a detached banger process (`banger __supervise
// SPEC.json STATUS_FD`) that starts the VMM, holds the agent channel, serves
// it to any number of clients on STATE_DIR/control.sock, and when the VMM
// exits releases what the VM held (network, socket) and marks it stopped.
// There is no global daemon: one supervisor per running VM.
//
// SPEC.json (written by the vm_start recipe), parsed strictly:
//   { "vm":  a VM spec (host/vm/spec_json.h: name, state_dir, kernel, ...),
//     "tap": { "address": N } }   (the VM's index in the address pool; tap mode)
//
// Status on STATUS_FD, one line, then the fd is closed:
//   "ready <info JSON>"  or  "error <JSON {kind, message, hint}>"
#pragma once

#include <string>

namespace banger::supervisor {

// Binds the control socket at `path` (STATE_DIR/control.sock), mode 0600 (the
// directory is 0700), and listens; returns the socket.
int listen_control(const std::string& path);
// The same for any of the VM's sockets (the mounts' vhost-user sockets):
// `what` names it in errors ("mount socket path too long: PATH").
int listen_socket(const std::string& path, const std::string& what);

// The supervisor process's main; returns its exit code.
int supervise(const std::string& spec_path, int status_fd);

}  // namespace banger::supervisor
