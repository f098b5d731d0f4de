// QEMU microvm: the kernel command line, the qemu argv, the disk overlay.
// Pure functions of the spec (and a few paths), so tests pin them exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/vm/accel.h"
#include "host/vm/spec.h"

namespace banger::vm {

// Where QEMU's files of one VM go.
struct QemuFiles {
  std::string console_log;  // the guest's serial console
  std::string overlay;      // the qcow2 disk
  int agent_fd = -1;        // QEMU's end of the agent channel (a connected socket)
  int net_fd = -1;          // user networking: QEMU's end of banger's stack (host/net/user_net.h)
  std::string qmp_socket;   // QEMU listens here for its supervisor's QMP client (qmp.h)
  // Guest RAM's file: the VM's own (STATE_DIR/memory, mapped shared, so a
  // snapshot saves only device state), or a snapshot's (mapped copy-on-write).
  std::string memory_file;
  bool memory_private = false;
};

// Where a VM's guest memory lives while it runs: STATE_DIR/memory.
std::string memory_file_path(const std::string& state_dir);

// The VM's QMP socket: STATE_DIR/qmp.sock.
std::string qmp_socket_path(const std::string& state_dir);

// Throws a clear error for a spec that cannot start: missing kernel / initrd /
// rootfs (not_found, naming the file), bad cpus / memory / name / forwards
// (invalid_input).
void check_spec(const Spec& spec);

// Where a workspace may be mounted in the guest: an absolute path of
// letters, digits and "._-/" (it goes on the kernel command line), no "."
// or ".." component, and not /, nor in /proc, /sys, /dev or banger's own
// /.banger. An invalid_input error naming the path otherwise.
void check_workspace_path(const std::string& path);

// Where a host directory may be mounted in the guest (--mount HOST:GUEST):
// as check_workspace_path, and not one of the guest system's own
// directories (/etc, /usr, /bin, /lib, /run, /tmp, /var, ...).
void check_mount_path(const std::string& path);
// A mount's host side: an absolute path to an existing directory, with no
// comma in it (virtiofsd's option syntax). not_found when missing,
// invalid_input when not a directory; the error names it.
void check_mount_host(const std::string& host);
// At most this many mounts per VM.
inline constexpr size_t kMaxMounts = 8;
// The vhost-user socket of mount `index`: STATE_DIR/fsN.sock.
std::string mount_socket_path(const std::string& state_dir, size_t index);
// The virtiofs tag of mount `index` ("banger-mount-N", proto/boot.h).
std::string mount_tag(size_t index);

// "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=NAME
// [banger.init=INIT] [banger.workspace=PATH] [banger.mounts=TAG:GUEST[:ro],...]
// [tsc] [net] EXTRA" (the keys: proto/boot.h).
// Under TCG with a known host TSC rate (tsc_khz > 0) it adds
// "tsc_early_khz=N tsc=reliable" (see tsc.h).
std::string kernel_cmdline(const Spec& spec, const std::string& accel = "kvm", uint64_t tsc_khz = 0);

std::vector<std::string> qemu_argv(const Spec& spec, const AccelChoice& accel, const QemuFiles& files,
                                   uint64_t tsc_khz = 0);

// What decides whether a saved VM can be restored under `spec`: a digest of
// the QEMU command line with what differs between copies of one VM (name,
// paths, fds, tap device, MAC, addresses, memory file, the host's TSC rate)
// left out. "sha256:<hex>".
std::string shape_digest(const Spec& spec, const AccelChoice& accel);

// Where a VM's disk goes when its spec names none: STATE_DIR/disk.qcow2.
std::string default_overlay(const std::string& state_dir);

// VM `vm`'s disk: qemu-img create -f qcow2 -F raw -b ROOTFS OVERLAY (the
// backing path made absolute). Costs the same for any image size. The one
// place a disk is made: vm::start (for a missing overlay) and `vm create`
// (through _host.vmm.create_overlay, at default_overlay).
// `size` > 0 makes the disk that large (at least the image's size: the
// agent grows the filesystem to fill it at boot, guest/grow.cc).
// `backing_format`: "raw" for an image, "qcow2" for a snapshot's frozen disk.
void create_overlay(const std::string& rootfs, const std::string& overlay, const std::string& vm,
                    uint64_t size = 0, const std::string& backing_format = "raw");

// `disk` (a VM's qcow2 overlay with its backing chain, or a raw image)
// written whole as the raw disk `out` (sparse: zeros take no space) and
// fsynced, for a new image's root disk (`vm commit`, `image build`). `what`
// names the disk in errors. `out` must not exist.
void flatten_disk(const std::string& disk, const std::string& out, const std::string& what);

}  // namespace banger::vm
