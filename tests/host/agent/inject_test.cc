// inject_agent on real ext4 images made by mkfs.ext4 -d from a host tree;
// what it wrote is read back with debugfs and e2fsck checks every image.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <string>

#include "host/agent/inject.h"
#include "host/agent/service_unit.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/ext4/editor.h"
#include "tests/support/ext4_dump.h"

using namespace banger;
namespace stdfs = std::filesystem;

namespace {

// A host tree that becomes an image; built by the test, then inject() runs.
struct TreeImage {
  std::string dir, tree, path;
  TreeImage() {
    dir = fs::make_temp_dir(stdfs::temp_directory_path().string(), "agents-inject-");
    tree = dir + "/tree";
    path = dir + "/img.ext4";
    fs::make_dirs(tree + "/etc", 0755);
    fs::write_file(tree + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  }
  ~TreeImage() { fs::remove_all(dir); }
  void file(const std::string& p, const std::string& data = "x") {
    fs::make_dirs(stdfs::path(tree + p).parent_path().string(), 0755);
    fs::write_file(tree + p, data);
  }
  void link(const std::string& p, const std::string& target) {
    fs::make_dirs(stdfs::path(tree + p).parent_path().string(), 0755);
    stdfs::create_symlink(target, tree + p);
  }
  agents::InjectResult inject() {
    run_checked({"mkfs.ext4", "-q", "-F", "-d", tree, path, "16M"}, "mkfs.ext4");
    auto img = ext4::Editor::open(path, true);
    auto r = agents::inject_agent(*img, agents::find_agent_binary());
    img->close();
    auto fsck = test::e2fsck(path);
    INFO(fsck.output);
    CHECK(fsck.exit_code == 0);
    return r;
  }
  // The listing lines under `prefix` (see tests/support/ext4_dump.h).
  std::string listing(const std::string& prefix) {
    std::string out;
    std::istringstream all(test::image_listing(path));
    for (std::string line; std::getline(all, line);)
      if (line.rfind(prefix, 0) == 0) out += line + "\n";
    return out;
  }
};

const std::string kUnit = agents::kServiceUnitPath;
const std::string kWants = agents::kServiceWantsPath;

// The listing lines of the unit, root:root 0644, and of its enabling link.
std::string unit_listing() {
  std::string text = agents::service_unit_text();
  return kUnit + " file 0644 0:0 size=" + std::to_string(text.size()) + " sha=" + test::fnv64(text) +
         " nlink=1\n"
         "/etc/systemd/system/multi-user.target.wants dir 0755 0:0\n" +
         kWants + " symlink 0777 0:0 ->" + kUnit + "\n";
}

}  // namespace

TEST_CASE("inject_agents: an image with systemd gets the agent's unit, enabled for multi-user.target",
          "[agent]") {
  TreeImage t;
  // Debian's merged /usr: /lib is a link, systemd lives in /usr/lib.
  t.link("/lib", "usr/lib");
  t.file("/usr/lib/systemd/systemd", "ELF");
  t.file("/etc/systemd/system/other.service", "[Unit]\n");
  auto r = t.inject();
  CHECK(r.service_unit == kUnit);
  CHECK(t.listing("/etc/systemd/system/") ==
        unit_listing() + "/etc/systemd/system/other.service file 0644 0:0 size=7 sha=" +
            test::fnv64("[Unit]\n") + " nlink=1\n");
  std::string text = agents::service_unit_text();
  // debugfs, the independent reader, sees the same unit; it starts the agent
  // in service mode (guest/main.cc: --service, whatever its PID).
  CHECK(test::debugfs(t.path, "cat " + kUnit) == text);
  CHECK(text.find("\nExecStart=/.banger/agent --service\n") != std::string::npos);
  CHECK(text.find("\nWantedBy=multi-user.target\n") != std::string::npos);
}

TEST_CASE("inject_agents: systemd is found through links resolved inside the image", "[agent]") {
  TreeImage t;
  t.link("/lib/systemd/systemd", "../../opt/sd/bin/systemd");  // relative, from /lib/systemd
  t.link("/opt/sd/bin/systemd", "/opt/sd/real/systemd");       // absolute: from the image's root
  t.file("/opt/sd/real/systemd", "ELF");
  auto r = t.inject();
  CHECK(r.service_unit == kUnit);
  // Made with the directories it needed, root:root 0755.
  CHECK(t.listing("/etc/systemd") ==
        "/etc/systemd dir 0755 0:0\n/etc/systemd/system dir 0755 0:0\n" + unit_listing());
}

TEST_CASE("inject_agents: an image without systemd gets no unit", "[agent]") {
  TreeImage t;
  SECTION("nothing there") {}
  SECTION("a dangling link") { t.link("/lib/systemd/systemd", "systemd-gone"); }
  // The host's /bin/sh exists: a link out of the image must not reach it.
  SECTION("a link out of the image") { t.link("/lib/systemd/systemd", "../../../../../../bin/sh"); }
  SECTION("a link loop") { t.link("/usr/lib/systemd/systemd", "/usr/lib/systemd/systemd"); }
  SECTION("a directory named systemd") { fs::make_dirs(t.tree + "/usr/lib/systemd/systemd", 0755); }
  SECTION("a file where a directory should be") { t.file("/lib", "not a directory"); }
  auto r = t.inject();
  CHECK(r.path == "/.banger/agent");
  CHECK(r.service_unit == "");
  CHECK(t.listing("/etc/systemd") == "");
}

TEST_CASE("inject_agents: links already at the unit's paths are replaced, never followed", "[agent]") {
  TreeImage t;
  t.file("/usr/lib/systemd/systemd", "ELF");
  t.link("/etc/systemd/system/banger-agent.service", "/etc/passwd");
  t.link("/etc/systemd/system/multi-user.target.wants/banger-agent.service", "/etc/passwd");
  auto r = t.inject();
  CHECK(r.service_unit == kUnit);
  CHECK(test::debugfs(t.path, "cat /etc/passwd") == "root:x:0:0:root:/root:/bin/sh\n");
  CHECK(test::debugfs(t.path, "cat " + kUnit) == agents::service_unit_text());
  CHECK(t.listing(kWants) == kWants + " symlink 0777 0:0 ->" + kUnit + "\n");
}
