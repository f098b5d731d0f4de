#include "host/vm/qemu_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/core/sha256.h"
#include "host/core/vm_name.h"
#include "host/net/egress.h"
#include "host/net/user_net.h"
#include "proto/boot.h"

namespace banger::vm {

namespace {

void check_file(const std::string& path, const char* what, const std::string& hint) {
  if (path.empty()) fail(ErrorKind::invalid_input, std::string("no ") + what + " given", hint);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    fail(ErrorKind::not_found, std::string(what) + " " + path + ": no such file", hint);
  if (!S_ISREG(st.st_mode))
    fail(ErrorKind::invalid_input, std::string(what) + " " + path + ": not a regular file", hint);
}

// QEMU listens on the VM's QMP socket; its supervisor is the one client
// (pause, resume, snapshots). The socket lives in the VM's 0700 state dir.
std::vector<std::string> qmp_args(const QemuFiles& f) {
  if (f.qmp_socket.empty()) return {};
  return {"-qmp", "unix:" + f.qmp_socket + ",server=on,wait=off"};
}

// Guest RAM in a file, and modern virtio-mmio (QEMU 7.2 defaults to legacy)
// for all devices. With the VM's own file mapped shared, a snapshot needs
// to save only device state (x-ignore-shared): ~20 ms instead of the RAM.
// With a mount, guest RAM is a shared memfd instead: virtiofsd maps it (a
// vhost-user device), and such a VM is never snapshotted.
std::vector<std::string> memory_args(const Spec& s, const QemuFiles& f) {
  if (!s.mounts.empty())
    return {"-object",  "memory-backend-memfd,id=ram,size=" + std::to_string(s.memory_mib) + "M,share=on",
            "-machine", "memory-backend=ram",
            "-global",  "virtio-mmio.force-legacy=false"};
  if (f.memory_file.empty()) return {};
  return {"-object",
          "memory-backend-file,id=ram,size=" + std::to_string(s.memory_mib) + "M,mem-path=" + f.memory_file +
              (f.memory_private ? ",share=off" : ",share=on"),
          "-machine",
          "memory-backend=ram",
          "-global",
          "virtio-mmio.force-legacy=false"};
}

// A restore waits for QMP's migrate-incoming (vm.cc sets the capabilities first).
std::vector<std::string> incoming_args(const Spec& s) {
  if (s.restore.state.empty()) return {};
  return {"-incoming", "defer"};
}

}  // namespace

namespace {

// A directory in the guest named on the kernel command line: absolute,
// letters, digits and "._-/", no "." or ".." component, not /, nor in /proc,
// /sys, /dev or banger's own /.banger. `what` names it in the error.
void check_guest_dir(const std::string& path, const std::string& what, const std::string& hint) {
  auto bad = [&](const std::string& why) {
    fail(ErrorKind::invalid_input, what + " '" + path + "' " + why, hint);
  };
  if (path.empty() || path[0] != '/') bad("is not absolute");
  if (path.size() > 200) bad("is longer than 200 characters");
  for (char c : path)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '.' && c != '_' && c != '-')
      bad("may hold only letters, digits and . _ - /");
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") bad("is the root directory");
  if ((p + "/").find("/./") != std::string::npos || (p + "/").find("/../") != std::string::npos ||
      p.find("//") != std::string::npos)
    bad("has an empty, '.' or '..' component");
  for (const char* sys : {"/proc", "/sys", "/dev", proto::kAgentDir})
    if (p == sys || p.rfind(std::string(sys) + "/", 0) == 0) bad(std::string("is in ") + sys);
}

}  // namespace

void check_workspace_path(const std::string& path) {
  check_guest_dir(path, "workspace path", "give an absolute directory in the guest, e.g. /work");
}

void check_mount_path(const std::string& path) {
  const std::string hint =
      "give an absolute directory in the guest that the system does not use, e.g. /mnt/src";
  check_guest_dir(path, "mount guest path", hint);
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  // The directories the guest's own system (and the agent) runs from.
  for (const char* sys : {"/bin", "/boot", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/run", "/sbin",
                          "/tmp", "/usr", "/var"})
    if (p == sys)
      fail(ErrorKind::invalid_input, "mount guest path '" + path + "' is a system directory", hint);
}

void check_mount_host(const std::string& host) {
  const std::string hint = "give an existing directory on the host, e.g. --mount ./src:/mnt/src";
  if (host.empty() || host[0] != '/')
    fail(ErrorKind::invalid_input, "mount host directory '" + host + "' is not absolute", hint);
  if (host.find_first_of(",\n") != std::string::npos)
    fail(ErrorKind::invalid_input, "mount host directory '" + host + "' has a comma or a newline in its name",
         "rename the directory, or mount a parent of it");
  struct stat st {};
  if (stat(host.c_str(), &st) != 0)
    fail(ErrorKind::not_found, "mount host directory " + host + " does not exist",
         "create it (mkdir -p " + host + ") or give an existing directory");
  if (!S_ISDIR(st.st_mode))
    fail(ErrorKind::invalid_input, "mount host path " + host + " is not a directory",
         "give a directory: a mount shares a whole directory tree");
}

std::string mount_socket_path(const std::string& state_dir, size_t index) {
  return state_dir + "/fs" + std::to_string(index) + ".sock";
}

std::string mount_tag(size_t index) { return proto::kMountTagPrefix + std::to_string(index); }

std::string memory_file_path(const std::string& state_dir) { return state_dir + "/memory"; }

std::string qmp_socket_path(const std::string& state_dir) { return state_dir + "/qmp.sock"; }

void check_spec(const Spec& s) {
  check_vm_name(s.name);
  const std::string khint = "pull a kernel (banger kernel pull) or pass an existing file";
  check_file(s.kernel, "kernel", khint);
  check_file(s.initrd, "initrd", khint);
  check_file(s.rootfs, "rootfs image", "pull the image again (banger image pull)");
  if (s.cpus < 1 || s.cpus > 64)
    fail(ErrorKind::invalid_input, "cpus " + std::to_string(s.cpus) + " is out of range", "use 1 to 64");
  if (s.memory_mib < 128 || s.memory_mib > 256 * 1024)
    fail(ErrorKind::invalid_input, "memory " + std::to_string(s.memory_mib) + " MiB is out of range",
         "use 128 MiB or more");
  if (s.state_dir.empty()) fail(ErrorKind::invalid_input, "VM " + s.name + ": no state directory");
  if (s.net.mode != "user" && s.net.mode != "tap" && s.net.mode != "none")
    fail(ErrorKind::invalid_input, "network mode '" + s.net.mode + "' is not supported",
         "use user, tap or none");
  if (s.net.mode == "tap") {
    auto bad = [](const std::string& v) { return v.find_first_of(", =\t\n\"'") != std::string::npos; };
    if (s.net.tap.empty() || bad(s.net.tap) || s.net.tap.size() > 15)
      fail(ErrorKind::invalid_input, "tap network: device name '" + s.net.tap + "' is not valid");
    if (s.net.address.find('/') == std::string::npos || bad(s.net.address) || bad(s.net.gateway) ||
        bad(s.net.mac) || s.net.dns.find_first_of(" =\t\n\"'") != std::string::npos)
      fail(ErrorKind::invalid_input,
           "tap network: address '" + s.net.address + "' (with gateway '" + s.net.gateway + "') is not valid",
           "give the guest address as ADDR/PREFIX, e.g. 10.77.0.5/24");
    for (const auto& f : s.net.forwards)
      if (f.proto != "tcp")
        fail(ErrorKind::invalid_input,
             "port forward " + std::to_string(f.host_port) + ":" + std::to_string(f.guest_port) + "/" +
                 f.proto + ": tap networking forwards TCP only",
             "use --net user for UDP forwards, or reach the VM's address directly");
  }
  // A policy that does not parse (or a hook that does not load) stops the
  // start here, before anything is made.
  net::parse_egress(s.net.egress, s.net.add_hosts, s.net.egress_hook, s.net.egress_hook_name);
  if (!s.workspace_disk.empty()) {
    check_file(s.workspace_disk, "workspace disk", "create the VM again with --workspace");
    check_workspace_path(s.workspace_path);
  }
  if (s.mounts.size() > kMaxMounts)
    fail(ErrorKind::invalid_input,
         "VM " + s.name + ": " + std::to_string(s.mounts.size()) + " mounts; at most " +
             std::to_string(kMaxMounts) + " are supported",
         "mount a common parent directory instead");
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    check_mount_host(s.mounts[i].host);
    check_mount_path(s.mounts[i].guest);
    for (size_t j = 0; j < i; ++j)
      if (s.mounts[j].guest == s.mounts[i].guest)
        fail(ErrorKind::invalid_input, "two mounts at guest path " + s.mounts[i].guest,
             "give each mount its own guest directory");
  }
  if (!s.mounts.empty() && !s.restore.state.empty())
    fail(ErrorKind::invalid_input, "VM " + s.name + ": a restored snapshot cannot have mounts",
         "start a new VM with --mount instead");
  for (const auto& h : s.net.allow_host) {
    if (h.port < 1 || h.port > 65535)
      fail(ErrorKind::invalid_input, "allowed host port " + std::to_string(h.port) + " is not valid",
           "use a port from 1 to 65535");
    if (h.proto != "tcp" && h.proto != "udp")
      fail(ErrorKind::invalid_input,
           "allowed host port " + std::to_string(h.port) + "/" + h.proto + " is not valid", "use tcp or udp");
    if (s.net.mode == "user" && h.proto != "tcp")
      fail(ErrorKind::invalid_input,
           "allowed host port " + std::to_string(h.port) + "/udp: user networking allows TCP host ports only",
           "use --net tap (needs root) to allow UDP");
  }
  for (const auto& f : s.net.forwards) {
    if ((f.proto != "tcp" && f.proto != "udp") || f.host_port < 1 || f.host_port > 65535 ||
        f.guest_port < 1 || f.guest_port > 65535 || f.host_addr.find_first_of(",:") != std::string::npos)
      fail(ErrorKind::invalid_input,
           "port forward " + f.proto + ":" + f.host_addr + ":" + std::to_string(f.host_port) +
               "-:" + std::to_string(f.guest_port) + " is not valid",
           "use HOST_PORT:GUEST_PORT with ports 1-65535");
  }
}

std::string kernel_cmdline(const Spec& s, const std::string& accel, uint64_t tsc_khz) {
  std::string c = "console=ttyS0 quiet panic=-1 root=/dev/vda rw";
  auto arg = [&c](const char* key, const std::string& value) { c += std::string(" ") + key + "=" + value; };
  arg(proto::kArgHostname, s.name);
  if (!s.init.empty()) arg(proto::kArgInit, s.init);
  if (!s.workspace_disk.empty()) arg(proto::kArgWorkspace, s.workspace_path);
  if (!s.workspace_disk.empty() && s.workspace_later) c += std::string(" ") + proto::kArgWorkspaceLater;
  if (!s.mounts.empty()) {
    std::string list;
    for (size_t i = 0; i < s.mounts.size(); ++i) {
      if (i) list += ",";
      list += mount_tag(i) + ":" + s.mounts[i].guest + (s.mounts[i].read_only ? ":ro" : "");
    }
    arg(proto::kArgMounts, list);
  }
  if (accel == "tcg" && tsc_khz > 0 && s.cmdline.find("tsc_early_khz=") == std::string::npos)
    c += " tsc_early_khz=" + std::to_string(tsc_khz) + " tsc=reliable";
  if (s.net.mode == "user") {
    arg(proto::kArgIp, std::string(net::kUserGuest) + "/24");
    arg(proto::kArgGateway, net::kUserGateway);
    arg(proto::kArgDns, net::kUserDns);
  }
  if (s.net.mode == "tap") {
    arg(proto::kArgIp, s.net.address);
    if (!s.net.gateway.empty()) arg(proto::kArgGateway, s.net.gateway);
    if (!s.net.dns.empty()) arg(proto::kArgDns, s.net.dns);
  }
  if (!s.cmdline.empty()) c += " " + s.cmdline;
  return c;
}

std::vector<std::string> qemu_argv(const Spec& s, const AccelChoice& accel, const QemuFiles& f,
                                   uint64_t tsc_khz) {
  std::vector<std::string> a = {
      s.qemu,
      "-M",  // rtc=on: without an RTC the kernel spends seconds polling for one and
      // the guest clock starts in 1970.
      "microvm,x-option-roms=off,rtc=on,acpi=on",
      "-accel",
      accel.accel,
  };
  if (accel.accel == "kvm") {
    a.push_back("-cpu");
    a.push_back("host");
  }
  std::vector<std::string> rest = {
      "-m",
      std::to_string(s.memory_mib),
      "-smp",
      std::to_string(s.cpus),
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-no-reboot",
      "-serial",
      "file:" + f.console_log,
      "-kernel",
      s.kernel,
      "-initrd",
      s.initrd,
      "-append",
      kernel_cmdline(s, accel.accel, tsc_khz),
      "-drive",
      "id=root,file=" + f.overlay + ",format=qcow2,if=none,discard=unmap",
      "-device",
      "virtio-blk-device,drive=root",
  };
  a.insert(a.end(), rest.begin(), rest.end());
  if (!s.workspace_disk.empty())
    a.insert(a.end(),
             {"-drive", "id=work,file=" + s.workspace_disk + ",format=raw,if=none,discard=unmap", "-device",
              std::string("virtio-blk-device,drive=work,serial=") + proto::kWorkspaceSerial});
  if (s.net.mode == "user") {
    // banger's own stack serves user networking (forwards included): QEMU's
    // built-in one would let the guest reach the host's loopback.
    a.insert(a.end(), {"-netdev", "socket,id=net0,fd=" + std::to_string(f.net_fd), "-device",
                       "virtio-net-device,netdev=net0"});
  } else if (s.net.mode == "tap") {
    std::string dev = "virtio-net-device,netdev=net0";
    if (!s.net.mac.empty()) dev += ",mac=" + s.net.mac;
    a.insert(a.end(),
             {"-netdev", "tap,id=net0,ifname=" + s.net.tap + ",script=no,downscript=no", "-device", dev});
  }
  a.insert(a.end(),
           {"-device", "virtio-serial-device", "-chardev", "socket,id=agent,fd=" + std::to_string(f.agent_fd),
            "-device", std::string("virtserialport,chardev=agent,name=") + proto::kAgentPort});
  // One vhost-user-fs device per mount; its virtiofsd listens on the socket
  // (the supervisor binds it before QEMU starts: host/supervisor/virtiofs.h).
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    std::string id = "fs" + std::to_string(i);
    a.insert(a.end(), {"-chardev", "socket,id=" + id + ",path=" + mount_socket_path(s.state_dir, i),
                       "-device", "vhost-user-fs-device,chardev=" + id + ",tag=" + mount_tag(i)});
  }
  for (auto& x : qmp_args(f)) a.push_back(std::move(x));
  for (auto& x : memory_args(s, f)) a.push_back(std::move(x));
  for (auto& x : incoming_args(s)) a.push_back(std::move(x));
  return a;
}

std::string shape_digest(const Spec& spec, const AccelChoice& accel) {
  Spec s = spec;
  s.name = "vm";
  s.state_dir = "/vm";
  s.overlay = "/vm/disk.qcow2";
  s.net.tap = "tap";
  s.net.mac.clear();
  if (s.net.mode == "tap") s.net.address = "10.0.0.2/24", s.net.gateway = "10.0.0.1", s.net.dns = "10.0.0.1";
  s.net.forwards.clear();  // served by the host, not by QEMU
  s.net.allow_host.clear();
  s.restore = {};
  QemuFiles f{"/vm/console.log", "/vm/disk.qcow2", 3, 4, "/vm/qmp.sock", "/vm/memory", false};
  std::vector<std::string> argv = qemu_argv(s, accel, f, 0);
  argv.erase(argv.begin());  // the binary's path: its version is checked instead
  Sha256 h;
  for (const auto& a : argv) {
    h.update(a);
    h.update("\n", 1);
  }
  return h.finish();
}

std::string default_overlay(const std::string& state_dir) { return state_dir + "/disk.qcow2"; }

void create_overlay(const std::string& rootfs, const std::string& overlay, const std::string& vm,
                    uint64_t size, const std::string& backing_format) {
  std::string backing = std::filesystem::absolute(rootfs).string();
  std::vector<std::string> argv = {"qemu-img", "create",       "-q", "-f",    "qcow2",
                                   "-F",       backing_format, "-b", backing, overlay};
  if (size > 0) {
    // A snapshot's frozen disk keeps its size: its filesystem is the guest's.
    if (backing_format != "raw")
      fail(ErrorKind::invalid_input,
           "--disk cannot resize the disk of VM '" + vm + "', which comes from a snapshot",
           "leave --disk out with --from");
    std::error_code ec;
    uint64_t image = std::filesystem::file_size(rootfs, ec);
    if (ec) fail(ErrorKind::not_found, "the root disk of VM '" + vm + "' is missing: " + rootfs);
    // A disk smaller than the filesystem on it would cut the filesystem off.
    if (size < image) {
      uint64_t mib = (image + (1 << 20) - 1) >> 20;
      fail(ErrorKind::invalid_input,
           "--disk " + std::to_string(size >> 20) + "M for VM '" + vm +
               "' is smaller than its image's root disk (" + std::to_string(mib) + "M)",
           "give --disk at least " + std::to_string(mib) + "M, or leave it out for the image's size");
    }
    argv.push_back(std::to_string(size));
  }
  RunResult r = run_capture(argv);
  if (r.exit_code == 0) return;
  while (!r.err.empty() && isspace(static_cast<unsigned char>(r.err.back()))) r.err.pop_back();
  fail(ErrorKind::io, "creating the disk of VM '" + vm + "' failed: " + r.err,
       "check that qemu-utils is installed ('banger doctor')");
}

void flatten_disk(const std::string& disk, const std::string& out, const std::string& what) {
  if (fs::exists(out)) fail(ErrorKind::conflict, "flattening " + what + ": " + out + " already exists");
  // qemu-img reads the whole backing chain; -S 4k (its default) keeps runs of
  // zeros as holes, so a 10 GiB disk with 1 GiB written takes 1 GiB.
  RunResult r = run_capture({"qemu-img", "convert", "-q", "-O", "raw", "-S", "4k", disk, out});
  if (r.exit_code != 0) {
    ::unlink(out.c_str());
    while (!r.err.empty() && isspace(static_cast<unsigned char>(r.err.back()))) r.err.pop_back();
    fail(ErrorKind::io, "flattening " + what + " failed: " + r.err,
         "check that qemu-utils is installed ('banger doctor')");
  }
  // On disk before an index says an image is there.
  int fd = ::open(out.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(out.c_str());
    errno = e;
    fail_errno("syncing " + out);
  }
  ::close(fd);
}

}  // namespace banger::vm
