// End to end: banger installed like a package. The .deb that cpack makes is
// unpacked into a fresh root, and the banger there (which finds its agent in
// ../lib/banger/, not beside it) boots a VM.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;
namespace stdfs = std::filesystem;

TEST_CASE("e2e install: the .deb unpacks into a fresh root and its banger runs a VM", "[e2e][vm]") {
  SandboxHome home;
  TempDir t;
  auto pack = run_capture({"cpack", "-G", "DEB", "-B", t / "out", "--config",
                           std::string(BANGER_BINARY_DIR) + "/CPackConfig.cmake"});
  INFO(pack.out << pack.err);
  REQUIRE(pack.exit_code == 0);
  const std::string deb = t / "out/banger_0.1.0_amd64.deb";
  REQUIRE(fs::exists(deb));

  auto depends = run_capture({"dpkg-deb", "-f", deb, "Depends"});
  CHECK(depends.out.find("qemu-system-x86") != std::string::npos);
  CHECK(depends.out.find("uidmap") != std::string::npos);
  CHECK(depends.out.find("libluajit-5.1-2") != std::string::npos);  // from dpkg-shlibdeps
  REQUIRE(run_capture({"dpkg-deb", "-x", deb, t / "root"}).exit_code == 0);
  const std::string bin = t / "root/usr/bin/banger";
  REQUIRE(fs::exists(bin));
  REQUIRE(fs::exists(t / "root/usr/lib/banger/banger-agent"));
  CHECK_FALSE(fs::exists(t / "root/usr/bin/banger-agent"));
  // Stripped: a fraction of the RelWithDebInfo build's size.
  struct stat installed {
  }, built{};
  REQUIRE(::stat(bin.c_str(), &installed) == 0);
  REQUIRE(::stat((std::string(BANGER_BINARY_DIR) + "/banger").c_str(), &built) == 0);
  CHECK(installed.st_size * 2 < built.st_size);

  std::vector<std::string> argv = {"env", "-u", "BANGER_AGENT"};
  for (const auto& [k, v] : home.env().env) argv.push_back(k + "=" + v);
  argv.push_back(bin);
  for (const char* a : {"vm", "run", "--rm", "--net", "none", "--", "sh", "-c", "echo installed-ok"})
    argv.push_back(a);
  auto run = run_capture(argv);
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out == "installed-ok\n");
}
