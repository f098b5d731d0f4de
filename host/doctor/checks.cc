#include "host/doctor/checks.h"

#include <unistd.h>

#include <cstdlib>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/paths.h"
#include "host/core/process.h"
#include "host/net/privilege.h"
#include "host/net/ssh.h"
#include "host/supervisor/virtiofs.h"
#include "host/vm/accel.h"

namespace banger::doctor {

namespace {

constexpr unsigned long long kGiB = 1ull << 30;

std::string first_line(const std::string& s) {
  size_t start = s.find_first_not_of("\n ");
  if (start == std::string::npos) return {};
  size_t end = s.find('\n', start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The version line of `tool ARGS` (stdout, else stderr), or empty.
std::string version_of(const std::string& tool, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {tool};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    RunResult r = run_capture(argv);
    std::string line = first_line(r.out);
    return line.empty() ? first_line(r.err) : line;
  } catch (const std::exception&) {
    return {};
  }
}

// A tool on PATH: ok with its version, else `missing_status` with `fix`.
Check tool(const std::string& name, const std::string& binary, const std::vector<std::string>& version_args,
           bool essential, const std::string& missing_status, const std::string& fix,
           const std::string& what_for) {
  Check c{name, "ok", essential, "", ""};
  auto path = find_executable(binary);
  if (!path) {
    c.status = missing_status;
    c.detail = binary + " not found on PATH (" + what_for + ")";
    c.fix = fix;
    return c;
  }
  std::string v = version_args.empty() ? "" : version_of(*path, version_args);
  c.detail = v.empty() ? *path : v;
  return c;
}

Check qemu_check() {
  Check c = tool("qemu", "qemu-system-x86_64", {"--version"}, true, "fail", "apt-get install qemu-system-x86",
                 "runs every VM");
  if (c.status != "ok") return c;
  std::string machines;
  try {
    machines = run_capture({"qemu-system-x86_64", "-machine", "help"}).out;
  } catch (const std::exception&) {
  }
  if (machines.find("microvm") == std::string::npos) {
    c.status = "fail";
    c.detail += "; no microvm machine type";
    c.fix = "install a QEMU built with the microvm machine (Debian's qemu-system-x86 has it)";
  }
  return c;
}

Check accel_check(const std::string& env) {
  Check c{"acceleration", "ok", false, "", ""};
  vm::AccelProbe p = vm::probe_accel();
  vm::AccelChoice a;
  try {
    a = vm::choose_accel("auto", env, p);
  } catch (const Error& e) {
    c.status = "fail";
    c.detail = e.message();
    c.fix = e.hint();
    return c;
  }
  c.detail = a.accel + ": " + a.reason;
  if (a.accel == "kvm") return c;
  c.status = "warn";
  if (!env.empty() && env != "auto") {
    c.fix = "unset BANGER_ACCEL to let banger choose";
  } else if (!p.dev_kvm_exists) {
    c.fix =
        "VMs run under software emulation (slower); on hardware with virtualisation, "
        "enable it in the firmware and load kvm_intel or kvm_amd";
  } else if (!p.dev_kvm_usable) {
    c.fix = "give this user access to /dev/kvm (usermod -aG kvm $USER, then log in again)";
  } else if (p.kvm_pvm) {
    c.fix =
        "nothing to do here: kvm_pvm cannot run stock kernels, so VMs use software "
        "emulation (slower); hosts with kvm_intel or kvm_amd use KVM";
  } else {
    c.fix = "load kvm_intel or kvm_amd (modprobe kvm_intel) for hardware acceleration";
  }
  return c;
}

Check tap_check(bool privileged) {
  Check c{"tap networking", "ok", false, "", ""};
  bool tun = fs::exists("/dev/net/tun");
  if (privileged && tun) {
    c.detail = "CAP_NET_ADMIN held: tap is the default network mode";
    return c;
  }
  c.status = "warn";
  if (!tun) {
    c.detail = "/dev/net/tun is missing: VMs use user networking";
    c.fix = "load the tun module (modprobe tun)";
  } else {
    c.detail = "no CAP_NET_ADMIN: VMs use user networking (no ssh NAME.vm, ports through -p)";
    c.fix = "run banger as root (or with CAP_NET_ADMIN) for tap networking";
  }
  return c;
}

Check apt_check() {
  Check c = tool("apt (kernels)", "apt-get", {"--version"}, true, "fail",
                 "kernels come from Debian's archive through apt: use a Debian-based host, or "
                 "import a kernel with 'banger kernel import'",
                 "downloads guest kernels");
  if (c.status == "ok" && !find_executable("apt-cache")) {
    c.status = "fail";
    c.detail = "apt-cache not found on PATH (resolves kernel packages)";
    c.fix = "apt-get install apt";
  }
  return c;
}

Check ssh_check() {
  Check c = tool("ssh", "ssh-keygen", {}, false, "warn", "apt-get install openssh-client",
                 "makes banger's SSH key pair");
  if (c.status != "ok") return c;
  if (!find_executable("ssh")) {
    c.status = "warn";
    c.detail = "ssh not found on PATH (vm ssh, ssh NAME.vm)";
    c.fix = "apt-get install openssh-client";
    return c;
  }
  c.detail = version_of("ssh", {"-V"});
  return c;
}

Check include_check(const std::string& user_config) {
  std::string dir = net::ssh_dir();
  Check c{"ssh NAME.vm", "ok", false, "", ""};
  std::string text;
  try {
    if (!user_config.empty() && fs::exists(user_config)) text = fs::read_file(user_config);
  } catch (const std::exception&) {
  }
  if (net::has_include(text, dir)) {
    c.detail = user_config + " includes " + dir + "/config";
    return c;
  }
  c.status = "warn";
  c.detail = (user_config.empty() ? std::string("~/.ssh/config") : user_config) +
             " does not include banger's ssh config";
  c.fix = "add this line at the top of ~/.ssh/config: " + net::include_line(dir);
  return c;
}

std::string existing_parent(std::string dir) {
  while (!dir.empty() && !fs::exists(dir)) {
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos) return ".";
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
  return dir.empty() ? "/" : dir;
}

}  // namespace

Inputs default_inputs() {
  Inputs in;
  in.home = paths::home();
  const char* h = std::getenv("HOME");
  if (h && *h) in.user_ssh_config = std::string(h) + "/.ssh/config";
  in.accel_env = vm::accel_from_env();
  return in;
}

Check build_mode_check(const BuildMode& m) {
  Check c{"mmdebstrap mode", "ok", false, "", ""};
  if (m.mode == "root") {
    c.detail = "root mode (running as root)";
  } else if (m.missing.empty()) {
    c.detail = "unshare mode (newuidmap, subordinate ids and user namespaces present)";
  } else {
    c.status = "warn";
    std::string what;
    for (size_t i = 0; i < m.missing.size(); i++) what += (i ? "; " : "") + m.missing[i];
    c.detail = "unshare mode cannot work, so catalog images cannot be built as this user: it needs " + what;
    c.fix = m.fix;
  }
  return c;
}

Check disk_check(const std::string& dir, unsigned long long free) {
  Check c{"disk space", "ok", true, "", ""};
  char buf[64];
  snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(free) / kGiB);
  c.detail = std::string(buf) + " free in " + dir;
  if (free < kGiB) {
    c.status = "fail";
    c.fix = "free space under " + dir + " (images and VM disks need a few GiB), or set BANGER_HOME elsewhere";
  } else if (free < 5 * kGiB) {
    c.status = "warn";
    c.fix = "less than 5 GiB free: free space under " + dir + " or set BANGER_HOME elsewhere";
  }
  return c;
}

Check virtiofs_check(const std::string& path, bool privileged) {
  Check c{"virtiofsd (--mount)", "ok", false, path, ""};
  if (::access(path.c_str(), X_OK) != 0) {
    c.status = "warn";
    c.detail = path + " is missing (serves --mount's shared directories)";
    c.fix = "apt-get install qemu-system-common";
  } else if (!privileged) {
    c.status = "warn";
    c.detail = path + " runs only as root: --mount needs root";
    c.fix = "run banger as root to use --mount";
  }
  return c;
}

std::vector<Check> run_checks(const Inputs& in) {
  bool privileged = net::privileged();
  std::vector<Check> out;
  out.push_back(qemu_check());
  out.push_back(tool("qemu-img", "qemu-img", {"--version"}, true, "fail", "apt-get install qemu-utils",
                     "makes VM disks"));
  out.push_back(accel_check(in.accel_env));
  out.push_back(tap_check(privileged));
  // In tap mode (the default when privileged) these are needed for every VM.
  const std::string need = privileged ? "fail" : "warn";
  out.push_back(tool("nft", "nft", {"--version"}, privileged, need, "apt-get install nftables",
                     "NAT and filtering in tap mode"));
  out.push_back(
      tool("ip", "ip", {"-V"}, privileged, need, "apt-get install iproute2", "bridge and taps in tap mode"));
  out.push_back(apt_check());
  out.push_back(tool("mmdebstrap", "mmdebstrap", {"--version"}, false, "warn", "apt-get install mmdebstrap",
                     "builds catalog images such as debian-bookworm"));
  out.push_back(build_mode_check(mmdebstrap_mode(default_build_mode_inputs())));
  std::string where = existing_parent(in.home);
  try {
    out.push_back(disk_check(in.home, fs::free_bytes(where)));
  } catch (const Error& e) {
    out.push_back({"disk space", "fail", true, e.message(), "check that " + where + " is readable"});
  }
  out.push_back(ssh_check());
  out.push_back(include_check(in.user_ssh_config));
  out.push_back(virtiofs_check(supervisor::kVirtiofsd, privileged));
  return out;
}

bool essentials_ok(const std::vector<Check>& checks) {
  for (const auto& c : checks)
    if (c.essential && !c.ok()) return false;
  return true;
}

}  // namespace banger::doctor
