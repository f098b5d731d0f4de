// End to end under TCG: a real Debian image pulled from the local registry,
// the Debian cloud kernel from apt, booted by the real build/banger.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/ext4/editor.h"
#include "tests/support/registry.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/test_images.h"

using namespace banger;
using namespace banger::test;

TEST_CASE("e2e vm: a registry image boots - vm run prints os-release and returns the exit code",
          "[e2e][vm]") {
  Registry reg;
  reg.push("oci:" + debian_oci_layout() + ":gzip", "debian:bookworm");
  SandboxHome home(reg.host() + "/debian:bookworm");

  auto os = run_banger({"vm", "run", "--rm", "--net", "user", "--", "cat", "/etc/os-release"}, home.env());
  CHECK(os.code == 0);
  CHECK(os.out.find("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n") != std::string::npos);
  CHECK(os.out.find("==>") == std::string::npos);  // progress goes to stderr

  // An image reference that is not here yet is pulled (as docker run does),
  // under its default name, and the exit code is the command's.
  reg.push("oci:" + debian_oci_layout() + ":gzip", "debian:v2");
  auto seven = run_banger(
      {"vm", "run", "--rm", "--net", "user", reg.host() + "/debian:v2", "--", "sh", "-c", "exit 7"},
      home.env());
  CHECK(seven.code == 7);
  CHECK(seven.err.find("image '" + reg.host() + "/debian:v2' is not here yet: pulling it") !=
        std::string::npos);
  CHECK(home.must({"image", "inspect", "debian-v2"}).code == 0);

  // --json: one object on stdout, the exit code still the command's.
  auto missing =
      run_banger({"vm", "run", "--rm", "--json", "--net", "user", "--", "no-such-command"}, home.env());
  CHECK(missing.code == 127);
  auto result = nlohmann::json::parse(missing.out);
  CHECK(result["exit_code"] == 127);
  CHECK(result["stages_ms"]["run"].get<int>() >= 0);

  auto ls = home.must({"vm", "ls", "--json"});
  CHECK(ls.out == "[]\n");  // --rm removed them
  CHECK(qemu_processes(home.path("home")) == 0);
}

TEST_CASE("e2e vm: a missing or corrupt kernel is a clear error and nothing keeps running", "[e2e][vm]") {
  SandboxHome home;
  auto missing =
      run_banger({"kernel", "import", "--name", "k2", "--kernel", home.path("nope/vmlinuz")}, home.env());
  CHECK(missing.code == 3);
  CHECK(missing.err.find(home.path("nope/vmlinuz")) != std::string::npos);

  fs::write_file(home.path("garbage"), std::string(4 << 20, '\x5a'));
  auto corrupt =
      run_banger({"kernel", "import", "--name", "k3", "--kernel", home.path("garbage")}, home.env());
  CHECK(corrupt.code == 2);
  CHECK(corrupt.err.find("is not a Linux bzImage kernel") != std::string::npos);
  CHECK(home.must({"kernel", "ls", "--json"}).out.find("\"k3\"") == std::string::npos);
}

TEST_CASE("e2e vm: an image without the agent fails within bounded time with the console tail", "[e2e][vm]") {
  SandboxHome home;
  // Take the agent out of the image: the guest can boot no further than stage 1.
  auto rec = home.must({"image", "inspect", "debian-bookworm", "--json"});
  std::string rootfs = rec.out.substr(rec.out.find("\"rootfs\": \"") + 11);
  rootfs = rootfs.substr(0, rootfs.find('"'));
  {
    auto img = ext4::Editor::open(rootfs, true);
    img->rm("/.banger/agent");
    img->close();
  }
  auto start = std::chrono::steady_clock::now();
  auto r = run_banger({"vm", "run", "--rm", "--net", "user", "--", "true"}, home.env());
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.code != 0);
  CHECK(r.err.find("error: ") != std::string::npos);
  CHECK(r.err.find("agent") != std::string::npos);
  CHECK(took < std::chrono::seconds(200));
  CHECK(qemu_processes(home.path("home")) == 0);
  INFO(r.err);
}
