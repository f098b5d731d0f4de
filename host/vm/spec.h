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

struct NetSpec {
  std::string mode = "user";  // "user" (QEMU user networking) or "none"
  std::vector<PortForward> forwards;
};

struct Spec {
  std::string name;
  std::string kernel;   // a bzImage
  std::string initrd;   // banger's initramfs (the agent as /init + modules)
  std::string cmdline;  // appended to banger's kernel command line
  std::string rootfs;   // the image's raw ext4 file (the overlay's backing file)
  std::string overlay;  // the VM's qcow2 disk; default STATE_DIR/disk.qcow2; made if missing
  int cpus = 1;
  int memory_mib = 512;
  std::string state_dir;  // console.log, qemu.log, the disk overlay
  NetSpec net;
  std::string accel = "auto";  // "auto", "kvm" or "tcg" (BANGER_ACCEL overrides "auto")
  std::chrono::milliseconds ready_timeout{60000};
  std::string qemu = "qemu-system-x86_64";
};

}  // namespace banger::vm
