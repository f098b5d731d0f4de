// Saving a running VM for snapshots and forks, and the checks a restore
// must pass. A snapshot directory holds:
//   state        QEMU's device state (migrate to "exec:cat > state"); the
//                guest RAM too when the VM's memory was not its own file
//   memory       the guest RAM file at the moment of the save (sparse), which
//                restores map copy-on-write; absent when RAM is in `state`
//   disk.qcow2   the VM's disk overlay, frozen: the VM writes to a new
//                overlay on top of it from then on (blockdev-snapshot-sync)
// The caller (banger.vm.snapshot) adds meta.json and publishes the directory.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "host/vm/qmp.h"

namespace banger::vm {

class Vm;

struct SaveResult {
  std::string qemu_version;  // qemu_version() of the QEMU that saved
  std::string shape_digest;  // shape_digest() of the VM's spec
  bool memory_file = false;  // `memory` was written (else RAM is in `state`)
  std::string new_overlay;   // the disk the VM writes to from now on
  double paused_ms = 0;      // how long the guest's CPUs were stopped
  double migrate_ms = 0, memory_ms = 0, disk_ms = 0;
  uint64_t state_bytes = 0, memory_bytes = 0;
  nlohmann::json to_json() const;
};

// Saves `vm` into the existing empty directory `dir`. A running VM is
// paused for the save only and runs on afterwards; a paused one stays
// paused. On failure nothing in `dir` is complete (the caller drops it) and
// the VM runs on (on the new overlay if the failure came after the switch:
// vm.info().overlay says which). A paused VM that was saved gets its disk
// back from QEMU only when it resumes: save it again after a resume.
SaveResult save_snapshot(Vm& vm, const std::string& dir);

// "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)": QMP query-version.
std::string qemu_version(Qmp& qmp);

// A sparse copy of `from` to `to` (new, 0600): only the data extents.
// Returns the bytes of data copied.
uint64_t copy_sparse(const std::string& from, const std::string& to);

}  // namespace banger::vm
