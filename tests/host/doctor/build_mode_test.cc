#include <catch2/catch.hpp>

#include "host/core/fs.h"
#include "host/doctor/build_mode.h"
#include "host/doctor/checks.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::doctor;

namespace {

BuildModeInputs alice(const test::TempDir& t, const std::string& subuid, const std::string& subgid) {
  fs::write_file(t / "subuid", subuid);
  fs::write_file(t / "subgid", subgid);
  fs::write_file(t / "clone", "1\n");
  fs::write_file(t / "max", "15000\n");
  BuildModeInputs in;
  in.uid = 1234;
  in.user = "alice";
  in.subuid = t / "subuid";
  in.subgid = t / "subgid";
  in.userns_clone = t / "clone";
  in.max_userns = t / "max";
  in.have_newuidmap = in.have_newgidmap = true;
  return in;
}

}  // namespace

TEST_CASE("build mode: root builds in mmdebstrap's root mode", "[doctor]") {
  BuildModeInputs in;
  in.uid = 0;
  auto m = mmdebstrap_mode(in);
  CHECK(m.mode == "root");
  CHECK(m.missing.empty());
  CHECK(build_mode_check(m).status == "ok");
}

TEST_CASE("build mode: a user with uidmap and id ranges builds in unshare mode", "[doctor]") {
  test::TempDir t;
  auto m = mmdebstrap_mode(alice(t, "bob:100000:65536\nalice:165536:65536\n", "1234:165536:65536\n"));
  CHECK(m.mode == "unshare");
  CHECK(m.missing.empty());
  CHECK(m.fix.empty());
  CHECK(build_mode_check(m).status == "ok");
}

TEST_CASE("build mode: what unshare mode lacks is named, with the commands that provide it", "[doctor]") {
  test::TempDir t;
  auto in = alice(t, "bob:100000:65536\nalice:165536:1000\n", "");
  in.have_newuidmap = false;
  auto m = mmdebstrap_mode(in);
  CHECK(m.mode == "unshare");
  CHECK(m.missing == std::vector<std::string>{
                         "newuidmap and newgidmap, which are not installed",
                         "65536 subordinate user ids for 'alice' in " + t / "subuid" + ", which has none",
                         "65536 subordinate group ids for 'alice' in " + t / "subgid" + ", which has none",
                     });
  CHECK(m.fix == "as root: apt-get install uidmap; echo alice:100000:65536 >> " + t / "subuid" +
                     "; echo alice:100000:65536 >> " + t / "subgid");
  auto c = build_mode_check(m);
  CHECK(c.status == "warn");
  CHECK(c.fix == m.fix);

  in = alice(t, "alice:1:65536\n", "alice:1:65536\n");
  fs::write_file(in.userns_clone, "0\n");
  auto off = mmdebstrap_mode(in);
  CHECK(off.missing ==
        std::vector<std::string>{"unprivileged user namespaces, which " + t / "clone" + " turns off"});
  CHECK(off.fix == "as root: sysctl -w kernel.unprivileged_userns_clone=1");
}
