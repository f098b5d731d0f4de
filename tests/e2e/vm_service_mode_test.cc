// End to end under TCG: an image with systemd booted under its own init
// (banger.init=/lib/systemd/systemd), where systemd starts the agent from the
// unit inject_agents installed, and banger's commands work through it.
#include <catch2/catch.hpp>

#include "host/core/fs.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/test_images.h"

using namespace banger;
using namespace banger::test;

TEST_CASE("e2e service mode: an image booted under its own systemd runs the agent as a service",
          "[e2e][vm]") {
  // Debian minbase has no systemd; systemd-sysv brings it (and /sbin/init).
  SandboxHome home("oci:" + debian_layout_with({"systemd-sysv"}) + ":v1");
  CHECK(home.must({"image", "cat", "debian-bookworm", "/etc/systemd/system/banger-agent.service"})
            .out.find("\nExecStart=/.banger/agent --service\n") != std::string::npos);

  // A bad path is refused before anything is made.
  auto bad = run_banger({"vm", "create", "--name", "sd", "--init", "sbin/init"}, home.env());
  CHECK(bad.code == 2);
  CHECK(bad.err.find("error: --init 'sbin/init' is not an absolute path in the image") != std::string::npos);
  home.must({"vm", "create", "--name", "sd", "--net", "user", "--init", "/lib/systemd/systemd"});
  home.must({"vm", "start", "sd"});
  CHECK(home.must({"vm", "exec", "sd", "--", "true"}).code == 0);
  auto who =
      home.must({"vm", "exec", "sd", "--", "sh", "-c", "cat /proc/1/comm; systemctl is-active banger-agent"});
  CHECK(who.out == "systemd\nactive\n");
  auto code = run_banger({"vm", "exec", "sd", "--", "sh", "-c", "exit 5"}, home.env());
  CHECK(code.code == 5);

  // A clean stop goes through the agent as a service too.
  home.must({"vm", "stop", "sd"});
  CHECK(qemu_processes(home.path("home")) == 0);
  home.must({"vm", "rm", "sd"});
}
