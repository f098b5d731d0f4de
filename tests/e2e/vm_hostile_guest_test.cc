// End to end under TCG: a guest is untrusted. A real VM is made hostile (a
// setuid file, a symlink planted at the destination, an agent that lies about
// what it sends) and `vm cp` out of it must keep the host as it was.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "host/core/fs.h"
#include "tests/support/sandbox_home.h"

using namespace banger;
using namespace banger::test;
namespace stdfs = std::filesystem;

namespace {

// Runs banger with the given umask (the CLI inherits it).
CliResult banger_with_umask(mode_t mask, const SandboxHome& home, const std::vector<std::string>& args) {
  mode_t old = ::umask(mask);
  CliResult r = run_banger(args, home.env());
  ::umask(old);
  return r;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

// Files in `dir` whose names start with `prefix`: what a copy may leave behind.
int leftovers(const std::string& dir, const std::string& prefix) {
  int n = 0;
  for (const auto& e : stdfs::directory_iterator(dir))
    n += e.path().filename().string().rfind(prefix, 0) == 0;
  return n;
}

}  // namespace

TEST_CASE(
    "e2e hostile guest: vm cp out drops setuid and setgid, follows the umask, never writes through a symlink",
    "[e2e][vm]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "evil", "--net", "none"});
  home.must({"vm", "start", "evil"});
  home.must({"vm", "exec", "evil", "--", "sh", "-c", "printf payload > /root/suid && chmod 6755 /root/suid"});
  CHECK(home.must({"vm", "exec", "evil", "--", "stat", "-c", "%a", "/root/suid"}).out == "6755\n");

  // A guest chmod 6755 never becomes a setuid file on the host.
  const std::string out = home.path("out");
  fs::make_dirs(out);
  REQUIRE(banger_with_umask(022, home, {"vm", "cp", "evil:/root/suid", out + "/a"}).code == 0);
  CHECK((mode_of(out + "/a") & 07777) == 0755);
  CHECK(fs::read_file(out + "/a") == "payload");
  REQUIRE(banger_with_umask(077, home, {"vm", "cp", "evil:/root/suid", out + "/b"}).code == 0);
  CHECK((mode_of(out + "/b") & 07777) == 0700);

  // Symlinks planted where the copy lands, and where the old partial file
  // went, are replaced or left alone: the files they point at keep their bytes.
  fs::write_file(home.path("victim"), "precious", 0644);
  fs::write_file(home.path("victim2"), "precious too", 0644);
  REQUIRE(::symlink(home.path("victim").c_str(), (out + "/c.banger-partial").c_str()) == 0);
  REQUIRE(::symlink(home.path("victim2").c_str(), (out + "/c").c_str()) == 0);
  REQUIRE(banger_with_umask(022, home, {"vm", "cp", "evil:/root/suid", out + "/c"}).code == 0);
  CHECK(S_ISREG(mode_of(out + "/c")));
  CHECK(fs::read_file(out + "/c") == "payload");
  CHECK(fs::read_file(home.path("victim")) == "precious");
  CHECK(fs::read_file(home.path("victim2")) == "precious too");
  CHECK((mode_of(home.path("victim")) & 07777) == 0644);
  CHECK(leftovers(out, ".c.banger-") == 0);
  home.must({"vm", "rm", "--force", "evil"});
}

TEST_CASE(
    "e2e hostile guest: an agent that lies about a file's size or sends a malicious tree gets nothing "
    "written",
    "[e2e][vm]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "liar", "--net", "none"});
  home.must({"vm", "start", "liar"});
  // The real agent puts the lying one in place; from the next boot on it is PID 1.
  const std::string guests = std::string(BANGER_SOURCE_DIR) + "/tests/e2e/guests/";
  home.must({"vm", "cp", guests + "hostile_agent.pl", "liar:/hostile_agent.pl"});
  home.must({"vm", "cp", guests + "hostile-init", "liar:/hostile-init"});
  home.must({"vm", "exec", "liar", "--", "chmod", "755", "/hostile-init"});
  home.must({"vm", "stop", "liar"});
  auto bad = run_banger({"vm", "set", "liar", "--init", "hostile-init"}, home.env());
  CHECK(bad.code == 2);
  CHECK(bad.err.find("error: --init 'hostile-init' is not an absolute path in the image") !=
        std::string::npos);
  home.must({"vm", "set", "liar", "--init", "/hostile-init"});
  home.must({"vm", "start", "liar"});

  // Everything lands in box/out; box/victim and the rest of box must stay as they are.
  const std::string box = home.path("box");
  const std::string out = box + "/out";
  fs::make_dirs(out);
  fs::write_file(box + "/victim", "precious", 0644);
  fs::write_file(out + "/kept", "kept", 0644);
  auto cp = [&](const std::string& guest_path, const std::string& dest) {
    return run_banger({"vm", "cp", "liar:" + guest_path, dest}, home.env());
  };
  const std::string stream = ": VM 'liar' sent a bad tar stream: ";
  const std::string nothing = "; nothing was written";

  // A tar header announcing 10 bytes, then 2 MiB where the next header goes.
  auto more = cp("/etc/hostname", out + "/more");
  CHECK(more.code == 7);
  CHECK(more.err.find("error: copying liar:/etc/hostname to " + out + "/more" + stream) != std::string::npos);
  // Announces 1000, sends 10.
  auto fewer = cp("/short", out + "/fewer");
  CHECK(fewer.code == 7);
  CHECK(fewer.err.find(stream + "\".\": ") != std::string::npos);
  // Announces 2^62 bytes: refused before anything is created.
  auto huge = cp("/huge", out + "/huge");
  CHECK(huge.code == 7);
  CHECK(huge.err.find("the root entry is 4611686018427387904 bytes, and only ") != std::string::npos);

  // Trees that climb out, write through a symlink or a file, or replace what they made.
  auto dotdot = cp("/dotdot", out + "/t");
  CHECK(dotdot.code == 7);
  CHECK(dotdot.err.find("error: copying liar:/dotdot to " + out + "/t" + stream +
                        "\"../escaped\": path leaves the copied directory" + nothing) != std::string::npos);
  auto abs = cp("/abs", out + "/t");
  CHECK(abs.err.find(stream + "\"/tmp/banger-hostile-abs\": absolute path" + nothing) != std::string::npos);
  CHECK(!fs::exists("/tmp/banger-hostile-abs"));
  auto link = cp("/symlink", out + "/t");
  CHECK(link.err.find(stream + "\"up/escaped\" is below the symlink \"up\", which a copy never follows" +
                      nothing) != std::string::npos);
  auto below = cp("/belowfile", out + "/t");
  CHECK(below.err.find(stream + "\"f/escaped\" is below \"f\", which is not a directory" + nothing) !=
        std::string::npos);
  auto twice = cp("/twice", out);  // into the existing directory: out/twice
  CHECK(twice.err.find(stream + "\"same\" comes twice" + nothing) != std::string::npos);
  // A good stream with 2 MiB after its end; a tool that fails halfway (its
  // stderr shown printable only).
  auto trailing = cp("/trailing", out + "/t");
  CHECK(trailing.code == 7);
  CHECK(trailing.err.find("error: copying liar:/trailing to " + out +
                          "/t: VM 'liar' sent more than 1048576 bytes after the end of the tar stream" +
                          nothing) != std::string::npos);
  auto failing = cp("/failing", out + "/t");
  CHECK(failing.code == 7);
  CHECK(failing.err.find("error: copying liar:/failing to " + out + "/t: disk ?[31mon fire (exit 1)") !=
        std::string::npos);

  // Nothing was written anywhere: not in out, not beside it, no staging left.
  std::vector<std::string> left;
  for (const auto& e : stdfs::recursive_directory_iterator(box)) left.push_back(e.path().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{box + "/out", box + "/out/kept", box + "/victim"});
  CHECK(fs::read_file(box + "/victim") == "precious");
  CHECK(fs::read_file(out + "/kept") == "kept");
  CHECK(!fs::exists(home.path("escaped")));
  home.must({"vm", "rm", "--force", "liar"});
}
