// A VM's live mounts (--mount HOST:GUEST[:ro]): one virtiofsd per mount,
// started by the VM's supervisor before QEMU. The supervisor binds each
// vhost-user socket (STATE_DIR/fsN.sock, where QEMU's vhost-user-fs device
// connects: qemu_command.h) and hands it to virtiofsd with --fd. Each
// virtiofsd gets PR_SET_PDEATHSIG(SIGKILL): it lives and dies with the
// supervisor, even one killed with SIGKILL. A read-only mount's virtiofsd
// runs in a private mount namespace where HOST is a read-only bind mount,
// so the kernel refuses every write whatever virtiofsd is asked.
#pragma once

#include <string>
#include <vector>

#include "host/core/process.h"
#include "host/vm/spec.h"

namespace banger::supervisor {

// Debian's C virtiofsd (qemu-system-common).
inline constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";

// Whether this process can serve mounts: root (virtiofsd needs it) and
// virtiofsd installed. A clear error (unsupported / not_found) otherwise.
void check_can_mount();

// Starts one virtiofsd per mount of `spec` (none: returns {}). Its log is
// STATE_DIR/virtiofsd-N.log. Destroying the processes kills them.
std::vector<Process> start_virtiofs(const vm::Spec& spec);

}  // namespace banger::supervisor
