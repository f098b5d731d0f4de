#include "host/vm/accel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "host/core/error.h"

namespace banger::vm {

namespace {

bool exists(const char* p) {
  struct stat st {};
  return stat(p, &st) == 0;
}

}  // namespace

AccelProbe probe_accel() {
  AccelProbe p;
  p.dev_kvm_exists = exists("/dev/kvm");
  if (p.dev_kvm_exists) {
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      p.dev_kvm_usable = true;
      close(fd);
    } else {
      p.dev_kvm_error = strerror(errno);
    }
  }
  p.kvm_intel = exists("/sys/module/kvm_intel");
  p.kvm_amd = exists("/sys/module/kvm_amd");
  p.kvm_pvm = exists("/sys/module/kvm_pvm");
  return p;
}

std::string accel_from_env() {
  const char* v = std::getenv("BANGER_ACCEL");
  return v ? v : "";
}

AccelChoice choose_accel(const std::string& requested, const std::string& env, const AccelProbe& p) {
  auto check = [](const std::string& v, const char* from) {
    if (v != "auto" && v != "kvm" && v != "tcg")
      fail(ErrorKind::invalid_input, std::string(from) + ": unknown accelerator '" + v + "'",
           "use kvm, tcg or auto");
  };
  std::string req = requested.empty() ? "auto" : requested;
  check(req, "accel");
  if (req != "auto") return {req, "forced by the VM's accel setting"};
  if (!env.empty()) {
    check(env, "BANGER_ACCEL");
    if (env != "auto") return {env, "forced by BANGER_ACCEL=" + env};
  }
  if (!p.dev_kvm_exists) return {"tcg", "/dev/kvm is missing (no KVM on this host)"};
  if (!p.dev_kvm_usable) return {"tcg", "/dev/kvm cannot be opened (" + p.dev_kvm_error + ")"};
  if (p.kvm_intel) return {"kvm", "/dev/kvm is usable and kvm_intel is loaded"};
  if (p.kvm_amd) return {"kvm", "/dev/kvm is usable and kvm_amd is loaded"};
  if (p.kvm_pvm) return {"tcg", "/dev/kvm is backed by kvm_pvm, which cannot run stock guest kernels"};
  return {"tcg", "/dev/kvm is not backed by kvm_intel or kvm_amd"};
}

}  // namespace banger::vm
