#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>

#include "host/core/fs.h"
#include "host/doctor/checks.h"
#include "host/net/ssh.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::doctor;

namespace {

const Check* find(const std::vector<Check>& checks, const std::string& name) {
  for (const auto& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old) setenv(name.c_str(), old->c_str(), 1);
    else unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("doctor: every check is reported, in a fixed order", "[doctor]") {
  test::TempDir tmp;
  Inputs in{tmp / "home", tmp / "ssh_config", ""};
  auto checks = run_checks(in);
  std::vector<std::string> names;
  for (const auto& c : checks) names.push_back(c.name);
  CHECK(names == std::vector<std::string>{"qemu", "qemu-img", "acceleration", "tap networking", "nft", "ip",
                                          "apt (kernels)", "mmdebstrap", "mmdebstrap mode", "disk space",
                                          "ssh", "ssh NAME.vm", "virtiofsd (--mount)"});
  for (const auto& c : checks) {
    INFO(c.name << ": " << c.detail);
    CHECK((c.status == "ok" || c.status == "warn" || c.status == "fail"));
    CHECK(!c.detail.empty());
    if (c.status != "ok") CHECK(!c.fix.empty());
  }
  // This machine has QEMU (the test suite boots VMs with it).
  CHECK(find(checks, "qemu")->status == "ok");
  CHECK(find(checks, "qemu")->detail.rfind("QEMU emulator version ", 0) == 0);
  CHECK(find(checks, "qemu")->essential);
  // The disk check measures the nearest existing parent of a missing home.
  CHECK(find(checks, "disk space")->detail.find(" GiB free in " + tmp / "home") != std::string::npos);
}

TEST_CASE("doctor: missing tools fail with the package to install", "[doctor]") {
  test::TempDir tmp;
  ScopedEnv path("PATH", tmp.path());
  auto checks = run_checks({tmp.path(), "", ""});
  const Check* q = find(checks, "qemu");
  CHECK(q->status == "fail");
  CHECK(q->detail == "qemu-system-x86_64 not found on PATH (runs every VM)");
  CHECK(q->fix == "apt-get install qemu-system-x86");
  CHECK(find(checks, "qemu-img")->fix == "apt-get install qemu-utils");
  CHECK(find(checks, "mmdebstrap")->status == "warn");
  CHECK(find(checks, "ssh")->status == "warn");
  CHECK(find(checks, "ssh")->fix == "apt-get install openssh-client");
  CHECK_FALSE(essentials_ok(checks));
}

TEST_CASE("doctor: --mount's virtiofsd is a warning when missing or without root, never a failure",
          "[doctor]") {
  test::TempDir tmp;
  Check missing = virtiofs_check(tmp / "virtiofsd", true);
  CHECK(missing.status == "warn");
  CHECK_FALSE(missing.essential);
  CHECK(missing.detail == tmp / "virtiofsd" + " is missing (serves --mount's shared directories)");
  CHECK(missing.fix == "apt-get install qemu-system-common");
  fs::write_file(tmp / "virtiofsd", "#!/bin/sh\n", 0755);
  Check user = virtiofs_check(tmp / "virtiofsd", false);
  CHECK(user.status == "warn");
  CHECK(user.fix == "run banger as root to use --mount");
  CHECK(virtiofs_check(tmp / "virtiofsd", true).status == "ok");
}

TEST_CASE("doctor: BANGER_ACCEL is honoured and explained", "[doctor]") {
  test::TempDir tmp;
  auto tcg = run_checks({tmp.path(), "", "tcg"});
  const Check* a = find(tcg, "acceleration");
  CHECK(a->status == "warn");
  CHECK(a->detail == "tcg: forced by BANGER_ACCEL=tcg");
  CHECK(a->fix == "unset BANGER_ACCEL to let banger choose");
  auto bad = run_checks({tmp.path(), "", "xen"});
  CHECK(find(bad, "acceleration")->status == "fail");
  CHECK(find(bad, "acceleration")->detail == "BANGER_ACCEL: unknown accelerator 'xen'");
}

TEST_CASE("doctor: disk space fails under 1 GiB and warns under 5 GiB", "[doctor]") {
  CHECK(disk_check("/h", 512ull << 20).status == "fail");
  CHECK(disk_check("/h", 512ull << 20).detail == "0.5 GiB free in /h");
  CHECK(disk_check("/h", 3ull << 30).status == "warn");
  CHECK(disk_check("/h", 3ull << 30).fix ==
        "less than 5 GiB free: free space under /h or set BANGER_HOME elsewhere");
  CHECK(disk_check("/h", 50ull << 30).status == "ok");
  CHECK(disk_check("/h", 50ull << 30).fix.empty());
}

TEST_CASE("doctor: the ssh Include hint goes away once ~/.ssh/config has it", "[doctor]") {
  test::TempDir tmp;
  ScopedEnv home("BANGER_HOME", tmp / "bh");
  fs::write_file(tmp / "ssh_config", "Host x\n  User y\n");
  auto before = run_checks({tmp / "bh", tmp / "ssh_config", ""});
  const Check* s = find(before, "ssh NAME.vm");
  CHECK(s->status == "warn");
  CHECK(s->fix == "add this line at the top of ~/.ssh/config: Include " + tmp / "bh" + "/ssh/config");
  fs::write_file(tmp / "ssh_config", net::include_line(tmp / "bh/ssh") + "\nHost x\n");
  auto after = run_checks({tmp / "bh", tmp / "ssh_config", ""});
  CHECK(find(after, "ssh NAME.vm")->status == "ok");
}
