// End to end under TCG: a guest is untrusted. A real VM is made hostile (a
// setuid file, a symlink planted at the destination, an agent that lies about
// what it sends) and `vm cp` out of it must keep the host as it was.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

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

TEST_CASE("e2e hostile guest: an agent that lies about a file's size gets nothing written on the host",
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

  const std::string out = home.path("out");
  fs::make_dirs(out);
  // Announces 10 bytes, streams 2 MiB.
  auto more = run_banger({"vm", "cp", "liar:/etc/hostname", out + "/more"}, home.env());
  CHECK(more.code == 7);
  CHECK(more.err.find("error: copying liar:/etc/hostname to " + out +
                      "/more: VM 'liar' sent more than the 10 bytes it announced; nothing was written") !=
        std::string::npos);
  // Announces 1000, sends 10.
  auto fewer = run_banger({"vm", "cp", "liar:/short", out + "/fewer"}, home.env());
  CHECK(fewer.code == 7);
  CHECK(fewer.err.find("VM 'liar' sent 10 of the 1000 bytes it announced; nothing was written") !=
        std::string::npos);
  // Announces 2^62 bytes: refused before anything is created.
  auto huge = run_banger({"vm", "cp", "liar:/huge", out + "/huge"}, home.env());
  CHECK(huge.code == 7);
  CHECK(huge.err.find("the file is 4611686018427387904 bytes, and only ") != std::string::npos);
  CHECK(stdfs::is_empty(out));

  // An existing destination stays as it was.
  fs::write_file(out + "/kept", "kept", 0644);
  CHECK(run_banger({"vm", "cp", "liar:/etc/hostname", out + "/kept"}, home.env()).code == 7);
  CHECK(fs::read_file(out + "/kept") == "kept");
  CHECK(leftovers(out, ".") == 0);
  home.must({"vm", "rm", "--force", "liar"});
}
