// What the VM tests boot: Debian's cloud kernel (tests/support/kernel_fixture,
// fetched once through apt), a test initramfs with the agent as /init, and a small ext4
// rootfs of busybox-static. Header-only so that test_vm needs no extra sources.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/vm/spec.h"
#include "tests/support/kernel_fixture.h"

namespace banger::vm::testing {

inline std::string sh(const std::string& cmd) {
  auto r = run_capture({"sh", "-c", cmd});
  if (r.exit_code != 0) FAIL("command failed: " << cmd << "\n" << r.err << r.out);
  return r.out;
}

struct TestKernel {
  std::string vmlinuz;
  std::string modules;  // lib/modules/<version>
  std::string version;
};

// Debian's cloud kernel, from the shared test fixture (fetched once through
// apt, cached for every test binary).
inline const TestKernel& test_kernel() {
  static TestKernel k = [] {
    const auto& f = banger::test::debian_cloud_kernel();
    return TestKernel{f.kernel, f.modules, f.version};
  }();
  return k;
}

inline std::string agent_binary() {
  std::string a = std::string(BANGER_BINARY_DIR) + "/banger-agent";
  if (!fs::exists(a)) FAIL("build the agent first: cmake --build BUILD --target banger-agent");
  return a;
}

// The virtio modules in dependency order (what host/kernel computes from
// .modinfo; fixed here so these tests only need the VM area).
inline const std::vector<std::string>& test_modules() {
  static const std::vector<std::string> m = {
      "kernel/drivers/virtio/virtio_ring.ko",  "kernel/drivers/virtio/virtio.ko",
      "kernel/drivers/virtio/virtio_mmio.ko",  "kernel/drivers/block/virtio_blk.ko",
      "kernel/drivers/char/virtio_console.ko", "kernel/net/core/failover.ko",
      "kernel/drivers/net/net_failover.ko",    "kernel/drivers/net/virtio_net.ko"};
  return m;
}

// A gzip cpio with the agent as /init, the modules and /etc/banger/modules.
inline std::string build_initrd(const std::string& work, const std::string& init) {
  const TestKernel& k = test_kernel();
  std::string root = work + "/initrd-root";
  fs::make_dirs(root + "/etc/banger", 0755);
  std::string list;
  for (const auto& m : test_modules()) {
    std::string dest = root + "/lib/modules/" + k.version + "/" + m;
    sh("mkdir -p \"$(dirname '" + dest + "')\" && cp '" + k.modules + "/" + m + "' '" + dest + "'");
    list += "/lib/modules/" + k.version + "/" + m + "\n";
  }
  fs::write_file(root + "/etc/banger/modules", list);
  sh("cp '" + init + "' '" + root + "/init' && chmod 755 '" + root + "/init'");
  std::string out = work + "/initrd.gz";
  sh("cd '" + root + "' && find . | cpio -o -H newc --quiet | gzip -1 > '" + out + "'");
  return out;
}

// A small ext4 image: busybox-static as /bin/sh and friends, an os-release, and
// the agent at /.banger/agent (unless `agent` is empty; then `agent_script`,
// if any, is written there instead).
inline std::string build_rootfs(const std::string& work, const std::string& agent,
                                const std::string& agent_script = "",
                                const std::function<void(const std::string&)>& customize = {}) {
  if (!fs::exists("/bin/busybox") ||
      sh("ldd /bin/busybox 2>&1 || true").find("not a dynamic") == std::string::npos)
    FAIL("the VM tests need a static busybox: apt-get install busybox-static");
  std::string d = work + "/rootfs-dir";
  fs::make_dirs(d + "/bin", 0755);
  fs::make_dirs(d + "/etc", 0755);
  fs::make_dirs(d + "/root", 0700);
  fs::make_dirs(d + "/.banger", 0755);
  sh("cp /bin/busybox '" + d + "/bin/busybox'");
  for (const char* c : {"sh", "cat", "echo", "ls", "true", "false", "sleep", "uname", "id", "wc", "head",
                        "tr", "hostname", "ip", "pwd", "env", "tty", "stty"})
    sh(std::string("ln -sf busybox '") + d + "/bin/" + c + "'");
  fs::write_file(d + "/etc/os-release",
                 "PRETTY_NAME=\"banger test rootfs\"\nNAME=\"banger-test\"\nID=banger-test\n");
  fs::write_file(d + "/etc/passwd",
                 "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n");
  fs::write_file(d + "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
  if (!agent.empty())
    sh("cp '" + agent + "' '" + d + "/.banger/agent' && chmod 755 '" + d + "/.banger/agent'");
  else if (!agent_script.empty()) fs::write_file(d + "/.banger/agent", agent_script, 0755);
  if (customize) customize(d);
  std::string img = work + "/rootfs.ext4";
  sh("mkfs.ext4 -q -F -d '" + d + "' '" + img + "' 64M");
  return img;
}

// A fresh directory under the build tree, removed at scope exit.
struct WorkDir {
  std::string path;
  WorkDir() {
    std::string parent = std::string(BANGER_BINARY_DIR) + "/test-tmp";
    fs::make_dirs(parent, 0755);
    path = fs::make_temp_dir(parent, "vm");
  }
  ~WorkDir() { fs::remove_all(path); }
};

// A spec for a VM booting `initrd` and `rootfs` under TCG or KVM (auto).
inline Spec test_spec(const std::string& work, const std::string& initrd, const std::string& rootfs) {
  Spec s;
  s.name = "t" + std::to_string(getpid());
  s.kernel = test_kernel().vmlinuz;
  s.initrd = initrd;
  s.rootfs = rootfs;
  s.state_dir = work + "/state";
  s.cpus = 1;
  s.memory_mib = 512;
  return s;
}

// QEMU processes whose command line mentions `needle` (a state dir).
inline std::vector<pid_t> qemu_processes(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (cmd.find("qemu-system") != std::string::npos && cmd.find(needle) != std::string::npos)
      out.push_back(pid);
  }
  if (d) closedir(d);
  return out;
}

}  // namespace banger::vm::testing
