// What a VM is made of: the input of vm::start (see vm.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace banger::vm {

struct PortForward {
  std::string proto = "tcp";  // "tcp" or "udp"
  std::string host_addr = "127.0.0.1";
  int host_port = 0;
  int guest_port = 0;
};

// A host port the guest may reach.
struct HostPort {
  std::string proto = "tcp";  // "tcp" or "udp"
  int port = 0;
};

struct NetSpec {
  // "user": user networking served by banger's libslirp stack (guest
  //         10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3; the host's loopback
  //         is out of reach), see host/net/user_net.h;
  // "tap":  the existing tap device `tap` (made by the caller, e.g. in a
  //         bridge); the guest gets `address` (CIDR), `gateway`, `dns`;
  // "none": no network device.
  std::string mode = "user";
  std::vector<PortForward> forwards;  // host -> guest; tap: TCP only, relayed to `address`
  // Host ports the guest may reach. User mode serves TCP ones itself (the
  // host's 127.0.0.1:PORT at 10.0.2.4:PORT) and refuses UDP; in tap mode the
  // caller opens the firewall for each (the supervisor's setup_network).
  std::vector<HostPort> allow_host;
  std::string tap;      // tap: the host device name
  std::string mac;      // tap: optional guest MAC ("52:54:00:..")
  std::string address;  // tap: "10.77.0.5/24"
  std::string gateway;  // tap: "10.77.0.1"
  std::string dns;      // tap: "10.77.0.1" or "1.1.1.1,8.8.8.8"
  // What the guest may reach beyond the virtual network (host/net/egress.h:
  // rules as --egress takes them; none: "all") and the names DNS answers
  // itself (--add-host NAME:IP). User mode only.
  std::vector<std::string> egress;
  std::vector<std::string> add_hosts;
  std::string egress_hook;       // Lua source of the project's hook (host/net/egress_hook.h), or empty
  std::string egress_hook_name;  // where it came from, for errors and logs
};

// Restoring a snapshot (snapshot.h) instead of booting: QEMU starts with the
// same command line plus -incoming, loads the saved device state and runs on.
struct RestoreSpec {
  std::string snapshot;      // its name, for errors
  std::string state;         // the saved device state (and RAM unless memory is set)
  std::string memory;        // the snapshot's guest memory file, mapped copy-on-write; may be empty
  std::string qemu_version;  // the QEMU that saved it (QMP query-version): must be the one restoring
  std::string shape_digest;  // shape_digest() of the saved VM: must be this spec's
};

// A host directory shared live with the guest over virtiofs (--mount).
struct Mount {
  std::string host;   // an existing directory on the host (absolute)
  std::string guest;  // where the guest sees it (check_mount_path)
  bool read_only = false;
};

struct Spec {
  std::string name;
  std::string kernel;   // a bzImage
  std::string initrd;   // banger's initramfs (the agent as /init + modules)
  std::string cmdline;  // appended to banger's kernel command line
  // What stage 1 execs from the image (banger.init=PATH): the image's own
  // init, under which the agent runs as a service, or the image's agent;
  // empty: the agent runs on as PID 1 from the initramfs.
  std::string init;
  std::string rootfs;   // the image's raw ext4 file (the overlay's backing file)
  std::string overlay;  // the VM's qcow2 disk; default STATE_DIR/disk.qcow2; made if missing
  int cpus = 1;
  int memory_mib = 512;
  std::string state_dir;  // console.log, qemu.log, the disk overlay
  NetSpec net;
  // A second disk (raw ext4, host/workspace), which the agent mounts at
  // workspace_path: the VM's workspace. Empty: none.
  std::string workspace_disk;
  std::string workspace_path = "/work";
  // The disk is still being written when the VM boots (vm run overlaps the
  // two): the agent mounts it only when the host runs its mount tool.
  bool workspace_later = false;
  // Host directories shared live (virtiofs, one virtiofsd each, started by
  // the supervisor): at most kMaxMounts. A VM with one cannot be snapshotted.
  std::vector<Mount> mounts;
  std::string accel = "auto";  // "auto", "kvm" or "tcg" (BANGER_ACCEL decides "auto": accel.h)
  std::chrono::milliseconds ready_timeout{60000};
  std::string qemu = "qemu-system-x86_64";
  RestoreSpec restore;  // restore.state empty: boot
};

}  // namespace banger::vm
