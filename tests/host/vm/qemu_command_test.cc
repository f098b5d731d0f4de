#include <algorithm>
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>
#include "host/core/error.h"
#include "host/core/fs.h"

#include "host/core/tsc.h"
#include "host/vm/accel.h"
#include "host/vm/agent_channel.h"
#include "host/vm/console.h"
#include "host/vm/qemu_command.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::vm;
using banger::test::TempDir;

namespace {

Spec sample() {
  Spec s;
  s.name = "box";
  s.kernel = "/k/vmlinuz";
  s.initrd = "/k/initrd.img";
  s.rootfs = "/img/rootfs.ext4";
  s.state_dir = "/state/box";
  s.cpus = 2;
  s.memory_mib = 1024;
  return s;
}

}  // namespace

TEST_CASE("vm command: the kernel command line carries hostname and user-mode network", "[vm-unit]") {
  Spec s = sample();
  CHECK(kernel_cmdline(s) ==
        "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box "
        "banger.ip=10.0.2.15/24 banger.gw=10.0.2.2 banger.dns=10.0.2.3");
  CHECK(kernel_cmdline(s, "tcg", 2445406) ==
        "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box "
        "tsc_early_khz=2445406 tsc=reliable "
        "banger.ip=10.0.2.15/24 banger.gw=10.0.2.2 banger.dns=10.0.2.3");
  CHECK(kernel_cmdline(s, "kvm", 2445406).find("tsc") == std::string::npos);
  s.net.mode = "none";
  s.cmdline = "loglevel=7";
  CHECK(kernel_cmdline(s) == "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box loglevel=7");
  s.init = "/lib/systemd/systemd";
  CHECK(kernel_cmdline(s) ==
        "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box banger.init=/lib/systemd/systemd "
        "loglevel=7");
}

TEST_CASE("vm command: qemu argv for microvm under TCG", "[vm-unit]") {
  Spec s = sample();
  s.net.forwards = {{"tcp", "127.0.0.1", 2222, 22}, {"udp", "127.0.0.1", 5353, 53}};
  auto argv =
      qemu_argv(s, {"tcg", "test"}, {"/state/box/console.log", "/state/box/disk.qcow2", 5, 7}, 2445406);
  std::vector<std::string> want = {
      "qemu-system-x86_64", "-M", "microvm,x-option-roms=off,rtc=on,acpi=on", "-accel", "tcg", "-m", "1024",
      "-smp", "2", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial",
      "file:/state/box/console.log", "-kernel", "/k/vmlinuz", "-initrd", "/k/initrd.img", "-append",
      kernel_cmdline(s, "tcg", 2445406), "-drive",
      "id=root,file=/state/box/disk.qcow2,format=qcow2,if=none,discard=unmap", "-device",
      "virtio-blk-device,drive=root",
      // Forwards live in banger's own stack (host/net/user_net.h), not in QEMU's.
      "-netdev", "socket,id=net0,fd=7", "-device", "virtio-net-device,netdev=net0", "-device",
      "virtio-serial-device", "-chardev", "socket,id=agent,fd=5", "-device",
      "virtserialport,chardev=agent,name=banger.agent"};
  CHECK(argv == want);
}

TEST_CASE("vm command: KVM adds the host CPU and no network means no NIC", "[vm-unit]") {
  Spec s = sample();
  s.net.mode = "none";
  auto argv = qemu_argv(s, {"kvm", "test"}, {"c", "d", 3});
  CHECK(argv[4] == "kvm");
  CHECK(argv[5] == "-cpu");
  CHECK(argv[6] == "host");
  for (const auto& a : argv) CHECK(a.find("netdev") == std::string::npos);
}

TEST_CASE("vm command: check_spec names what is wrong", "[vm-unit]") {
  Spec s = sample();
  try {
    check_spec(s);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "kernel /k/vmlinuz: no such file");
    CHECK(e.hint() == "pull a kernel (banger kernel pull) or pass an existing file");
  }
  s.name = "bad name";
  REQUIRE_THROWS_WITH(check_spec(s), "invalid VM name 'bad name'");
  std::string dir = fs::make_temp_dir("/tmp", "vmspec");
  fs::write_file(dir + "/k", "k");
  s = sample();
  s.kernel = s.initrd = s.rootfs = dir + "/k";
  s.memory_mib = 16;
  REQUIRE_THROWS_WITH(check_spec(s), "memory 16 MiB is out of range");
  s.memory_mib = 512;
  s.net.forwards = {{"tcp", "127.0.0.1", 70000, 22}};
  REQUIRE_THROWS_WITH(check_spec(s), "port forward tcp:127.0.0.1:70000-:22 is not valid");
  s.net.forwards.clear();
  s.net.mode = "bridge";
  REQUIRE_THROWS_WITH(check_spec(s), "network mode 'bridge' is not supported");
  s.net.mode = "tap";
  s.net.tap = "bgtap0";
  s.net.address = "10.77.0.5";
  REQUIRE_THROWS_WITH(check_spec(s), "tap network: address '10.77.0.5' (with gateway '') is not valid");
  s.net.address = "10.77.0.5/24";
  REQUIRE_NOTHROW(check_spec(s));
  s.net.forwards = {{"udp", "127.0.0.1", 5353, 53}};
  REQUIRE_THROWS_WITH(check_spec(s), "port forward 5353:53/udp: tap networking forwards TCP only");
  s.net.forwards = {{"tcp", "127.0.0.1", 8080, 80}};
  REQUIRE_NOTHROW(check_spec(s));
  s.net.forwards.clear();
  s.net.tap = "bad name";
  REQUIRE_THROWS_WITH(check_spec(s), "tap network: device name 'bad name' is not valid");
  s.net.mode = "user";
  REQUIRE_NOTHROW(check_spec(s));
  s.net.allow_host = {{"udp", 53}};
  REQUIRE_THROWS_WITH(check_spec(s), "allowed host port 53/udp: user networking allows TCP host ports only");
  s.net.allow_host = {{"tcp", 0}};
  REQUIRE_THROWS_WITH(check_spec(s), "allowed host port 0 is not valid");
  s.net.allow_host = {{"sctp", 80}};
  REQUIRE_THROWS_WITH(check_spec(s), "allowed host port 80/sctp is not valid");
  s.net.mode = "tap";
  s.net.tap = "bgtap0";
  s.net.allow_host = {{"udp", 53}, {"tcp", 5432}};
  REQUIRE_NOTHROW(check_spec(s));
  fs::remove_all(dir);
}

TEST_CASE("vm command: tap networking names the device and gives the guest its address", "[vm-unit]") {
  Spec s = sample();
  s.net.mode = "tap";
  s.net.tap = "bgtap3";
  s.net.mac = "52:54:00:00:00:03";
  s.net.address = "10.77.0.3/24";
  s.net.gateway = "10.77.0.1";
  s.net.dns = "10.77.0.1";
  CHECK(kernel_cmdline(s) ==
        "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box "
        "banger.ip=10.77.0.3/24 banger.gw=10.77.0.1 banger.dns=10.77.0.1");
  auto argv = qemu_argv(s, {"tcg", "test"}, {"c", "d", 3});
  auto at = std::find(argv.begin(), argv.end(), "-netdev");
  REQUIRE(at != argv.end());
  CHECK(*(at + 1) == "tap,id=net0,ifname=bgtap3,script=no,downscript=no");
  CHECK(*(at + 3) == "virtio-net-device,netdev=net0,mac=52:54:00:00:00:03");
  // A TSC rate the caller already put on the command line is not repeated.
  s.cmdline = "tsc_early_khz=1000";
  CHECK(kernel_cmdline(s, "tcg", 2445406).find("tsc_early_khz=2445406") == std::string::npos);
}

TEST_CASE("vm accel: KVM only with kvm_intel or kvm_amd behind a usable /dev/kvm", "[vm-unit]") {
  AccelProbe p;
  CHECK(choose_accel("auto", "", p).accel == "tcg");
  CHECK(choose_accel("auto", "", p).reason == "/dev/kvm is missing (no KVM on this host)");
  p.dev_kvm_exists = true;
  p.dev_kvm_error = "Permission denied";
  CHECK(choose_accel("auto", "", p).reason == "/dev/kvm cannot be opened (Permission denied)");
  p.dev_kvm_usable = true;
  p.kvm_pvm = true;
  auto pvm = choose_accel("auto", "", p);
  CHECK(pvm.accel == "tcg");
  CHECK(pvm.reason == "/dev/kvm is backed by kvm_pvm, which cannot run stock guest kernels");
  p.kvm_pvm = false;
  p.kvm_intel = true;
  CHECK(choose_accel("", "", p).accel == "kvm");
  CHECK(choose_accel("", "", p).reason == "/dev/kvm is usable and kvm_intel is loaded");
  p.kvm_intel = false;
  p.kvm_amd = true;
  CHECK(choose_accel("auto", "", p).accel == "kvm");
}

TEST_CASE("vm accel: BANGER_ACCEL and the spec force a choice", "[vm-unit]") {
  AccelProbe none;
  auto forced = choose_accel("auto", "kvm", none);
  CHECK(forced.accel == "kvm");
  CHECK(forced.reason == "forced by BANGER_ACCEL=kvm");
  CHECK(choose_accel("tcg", "kvm", none).accel == "tcg");
  CHECK(choose_accel("auto", "auto", none).accel == "tcg");
  REQUIRE_THROWS_WITH(choose_accel("auto", "hvf", none), "BANGER_ACCEL: unknown accelerator 'hvf'");
  REQUIRE_THROWS_WITH(choose_accel("xen", "", none), "accel: unknown accelerator 'xen'");
}

TEST_CASE("vm accel: this host's probe gives a reasoned choice", "[vm-unit]") {
  auto c = choose_accel("auto", "", probe_accel());
  CHECK((c.accel == "kvm" || c.accel == "tcg"));
  CHECK_FALSE(c.reason.empty());
}

TEST_CASE("vm console: the tail keeps the last lines without carriage returns", "[vm-unit]") {
  std::string dir = fs::make_temp_dir("/tmp", "vmcon");
  std::string text;
  for (int i = 1; i <= 30; ++i) text += "line " + std::to_string(i) + "\r\n";
  fs::write_file(dir + "/c.log", text);
  CHECK(tail_lines(dir + "/c.log", 3) == "line 28\nline 29\nline 30");
  CHECK(tail_lines(dir + "/c.log", 100).substr(0, 7) == "line 1\n");
  CHECK(tail_lines(dir + "/missing", 3) == "");
  CHECK(console_report(dir + "/missing", dir + "/missing") == "\nthe console (" + dir + "/missing) is empty");
  fs::remove_all(dir);
}

TEST_CASE("vm channel: a guest sending an oversize frame or bad version is cut off", "[vm-unit]") {
  for (int variant = 0; variant < 2; ++variant) {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    AgentChannel ch(sv[0]);
    std::string h = "BNGR";
    h.push_back(variant == 0 ? 1 : 7);  // wire version
    h.push_back(20);                    // stdout_data
    h.append(2, '\0');
    h.append("\x01\0\0\0", 4);                              // id 1
    h.append(variant == 0 ? "\0\0\0\x40" : "\0\0\0\0", 4);  // 1 GiB, or 0
    REQUIRE(write(sv[1], h.data(), h.size()) == static_cast<ssize_t>(h.size()));
    try {
      ch.receive(std::chrono::milliseconds(1000));
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::io);
      CHECK(e.message() == (variant == 0
                                ? "agent protocol error: frame too large: 1073741824 bytes (limit 1048576)"
                                : "agent protocol error: unsupported wire version 7 (this side speaks 1)"));
    }
    CHECK(ch.closed());
    close(sv[1]);
  }
}

TEST_CASE("vm channel: receive waits a bounded time and reports a closed peer", "[vm-unit]") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  AgentChannel ch(sv[0]);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(ch.receive(std::chrono::milliseconds(100)));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  std::string f = proto::encode_frame(proto::Type::pong, 3, "x");
  REQUIRE(write(sv[1], f.data(), f.size()) == static_cast<ssize_t>(f.size()));
  auto got = ch.receive(std::chrono::milliseconds(1000));
  REQUIRE(got);
  CHECK(got->id == 3);
  close(sv[1]);
  REQUIRE_THROWS_WITH(ch.receive(std::chrono::milliseconds(1000)), "the agent closed the channel");
}

TEST_CASE("vm command: a workspace is a second disk told apart by its serial, mounted where the cmdline says",
          "[vm-unit]") {
  Spec s = sample();
  s.net.mode = "none";
  s.workspace_disk = "/state/box/workspace.ext4";
  s.workspace_path = "/src/project";
  CHECK(kernel_cmdline(s) ==
        "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box banger.workspace=/src/project");
  auto argv = qemu_argv(s, {"tcg", "test"}, {"c", "d", 3});
  auto at = std::find(argv.begin(), argv.end(), "virtio-blk-device,drive=root");
  REQUIRE(argv.end() - at > 4);
  // After the root disk, so that the root stays /dev/vda.
  CHECK(std::vector<std::string>(at + 1, at + 5) ==
        std::vector<std::string>{"-drive",
                                 "id=work,file=/state/box/workspace.ext4,format=raw,if=none,discard=unmap",
                                 "-device", "virtio-blk-device,drive=work,serial=banger-workspace"});
  // Written while the VM boots: the agent waits to be told to mount it.
  s.workspace_later = true;
  CHECK(kernel_cmdline(s) ==
        "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box "
        "banger.workspace=/src/project banger.workspace_later");
}

TEST_CASE("vm command: a workspace path is an absolute, plain directory outside the system's", "[vm-unit]") {
  CHECK_NOTHROW(check_workspace_path("/work"));
  CHECK_NOTHROW(check_workspace_path("/home/dev/my-project_1.0/"));
  REQUIRE_THROWS_WITH(check_workspace_path("work"), "workspace path 'work' is not absolute");
  REQUIRE_THROWS_WITH(check_workspace_path("/"), "workspace path '/' is the root directory");
  REQUIRE_THROWS_WITH(check_workspace_path("/a/../etc"),
                      "workspace path '/a/../etc' has an empty, '.' or '..' component");
  REQUIRE_THROWS_WITH(check_workspace_path("/a b"),
                      "workspace path '/a b' may hold only letters, digits and . _ - /");
  REQUIRE_THROWS_WITH(check_workspace_path("/proc/x"), "workspace path '/proc/x' is in /proc");
  REQUIRE_THROWS_WITH(check_workspace_path("/.banger"), "workspace path '/.banger' is in /.banger");
}

TEST_CASE(
    "vm command: a mount is a vhost-user-fs device on its socket, RAM a shared memfd, listed on the cmdline",
    "[vm-unit]") {
  TempDir dir;
  Spec s = sample();
  s.net.mode = "none";
  s.mounts = {{dir.path(), "/mnt/src", false}, {dir.path(), "/data", true}};
  CHECK(kernel_cmdline(s) ==
        "console=ttyS0 quiet panic=-1 root=/dev/vda rw banger.hostname=box "
        "banger.mounts=banger-mount-0:/mnt/src,banger-mount-1:/data:ro");
  QemuFiles f{"c", "d", 3, -1, "/state/box/qmp.sock", "/state/box/memory"};
  auto argv = qemu_argv(s, {"tcg", "test"}, f);
  auto at = std::find(argv.begin(), argv.end(), "socket,id=fs0,path=/state/box/fs0.sock");
  REQUIRE(argv.end() - at > 7);
  CHECK(std::vector<std::string>(at - 1, at + 7) ==
        std::vector<std::string>{"-chardev", "socket,id=fs0,path=/state/box/fs0.sock", "-device",
                                 "vhost-user-fs-device,chardev=fs0,tag=banger-mount-0", "-chardev",
                                 "socket,id=fs1,path=/state/box/fs1.sock", "-device",
                                 "vhost-user-fs-device,chardev=fs1,tag=banger-mount-1"});
  // virtiofsd maps guest RAM: a shared memfd instead of the VM's memory file,
  // and modern virtio-mmio, which vhost-user needs.
  auto mem = std::find(argv.begin(), argv.end(), "memory-backend-memfd,id=ram,size=1024M,share=on");
  REQUIRE(mem != argv.end());
  CHECK(std::vector<std::string>(mem + 1, mem + 5) ==
        std::vector<std::string>{"-machine", "memory-backend=ram", "-global",
                                 "virtio-mmio.force-legacy=false"});
  for (const auto& a : argv) CHECK(a.find("memory-backend-file") == std::string::npos);
  // Without a mount the VM's memory file stays (snapshots map it).
  s.mounts.clear();
  argv = qemu_argv(s, {"tcg", "test"}, f);
  CHECK(std::find(argv.begin(), argv.end(),
                  "memory-backend-file,id=ram,size=1024M,mem-path=/state/box/memory,share=on") != argv.end());
  for (const auto& a : argv) CHECK(a.find("vhost-user") == std::string::npos);
}

TEST_CASE("vm command: a mount's host side is an existing directory, its guest side not a system directory",
          "[vm-unit]") {
  TempDir dir;
  fs::write_file(dir.path() + "/file", "x");
  CHECK_NOTHROW(check_mount_host(dir.path()));
  REQUIRE_THROWS_WITH(check_mount_host(dir.path() + "/missing"),
                      "mount host directory " + dir.path() + "/missing does not exist");
  REQUIRE_THROWS_WITH(check_mount_host(dir.path() + "/file"),
                      "mount host path " + dir.path() + "/file is not a directory");
  REQUIRE_THROWS_WITH(check_mount_host("src"), "mount host directory 'src' is not absolute");
  REQUIRE_THROWS_WITH(check_mount_host("/a,b"),
                      "mount host directory '/a,b' has a comma or a newline in its name");
  CHECK_NOTHROW(check_mount_path("/mnt/src"));
  CHECK_NOTHROW(check_mount_path("/home/dev/project"));
  REQUIRE_THROWS_WITH(check_mount_path("mnt"), "mount guest path 'mnt' is not absolute");
  REQUIRE_THROWS_WITH(check_mount_path("/"), "mount guest path '/' is the root directory");
  REQUIRE_THROWS_WITH(check_mount_path("/mnt/../etc"),
                      "mount guest path '/mnt/../etc' has an empty, '.' or '..' component");
  REQUIRE_THROWS_WITH(check_mount_path("/etc"), "mount guest path '/etc' is a system directory");
  REQUIRE_THROWS_WITH(check_mount_path("/usr/"), "mount guest path '/usr/' is a system directory");
  REQUIRE_THROWS_WITH(check_mount_path("/dev/x"), "mount guest path '/dev/x' is in /dev");
  // check_spec: each mount checked, at most kMaxMounts, one per guest path.
  fs::write_file(dir.path() + "/k", "k");
  Spec s = sample();
  s.kernel = s.initrd = s.rootfs = dir.path() + "/k";
  s.mounts = {{dir.path(), "/etc", false}};
  REQUIRE_THROWS_WITH(check_spec(s), "mount guest path '/etc' is a system directory");
  s.mounts = {{dir.path(), "/a", false}, {dir.path(), "/a", true}};
  REQUIRE_THROWS_WITH(check_spec(s), "two mounts at guest path /a");
  s.mounts.clear();
  for (size_t i = 0; i <= kMaxMounts; ++i) s.mounts.push_back({dir.path(), "/m" + std::to_string(i), false});
  REQUIRE_THROWS_WITH(check_spec(s), "VM box: 9 mounts; at most 8 are supported");
  s.mounts.resize(kMaxMounts);
  CHECK_NOTHROW(check_spec(s));
}
