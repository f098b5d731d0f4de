// The default `vm run` as a normal user, not root (issue 9, "Running as a
// normal user"): the debian-bookworm image is built by mmdebstrap in its
// unshare mode, the VM runs on user networking. The suite itself runs as
// root (CI), so the test makes its users: one as Debian's useradd makes
// them (with subordinate id ranges), one without ranges, whose build must
// fail saying why and how to fix it.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/cli.h"
#include "tests/support/kernel_fixture.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

// A user (created when missing) and a home of its own for banger.
struct User {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string dir;  // its HOME and BANGER_HOME's parent, owned by it
};

User make_user(const TempDir& t, const std::string& name, bool system) {
  if (!getpwnam(name.c_str())) {
    // useradd gives a normal user 65536 subordinate ids (login.defs
    // SUB_UID_COUNT), as adduser does; a system user gets none.
    std::vector<std::string> argv = {"useradd", "--no-create-home", "--shell", "/bin/sh"};
    if (system) argv.push_back("--system");
    argv.push_back(name);
    run_checked(argv, "useradd " + name);
  }
  // Where /etc/subuid was missing, useradd gave none: add a range as an
  // administrator would (a high one, clear of adduser's from 100000).
  for (const char* file : {"/etc/subuid", "/etc/subgid"}) {
    std::string ids = fs::exists(file) ? fs::read_file(file) : "";
    if (!system && ("\n" + ids).find("\n" + name + ":") == std::string::npos)
      run_checked({"usermod", std::string(file) == "/etc/subuid" ? "--add-subuids" : "--add-subgids",
                   "1500000000-1500065535", name},
                  "usermod " + name);
  }
  const passwd* pw = getpwnam(name.c_str());
  REQUIRE(pw);
  User u{name, pw->pw_uid, pw->pw_gid, t / name};
  fs::make_dirs(u.dir);
  REQUIRE(chown(u.dir.c_str(), u.uid, u.gid) == 0);
  return u;
}

// Runs `command` as `u` with a clean environment of its own.
CliResult run_as(const User& u, const std::vector<std::string>& command) {
  std::vector<std::string> argv = {"runuser",
                                   "-u",
                                   u.name,
                                   "--",
                                   "env",
                                   "-i",
                                   "PATH=/usr/local/bin:/usr/bin:/bin",
                                   "HOME=" + u.dir,
                                   "BANGER_HOME=" + u.dir + "/banger"};
  if (const char* accel = getenv("BANGER_ACCEL")) argv.push_back(std::string("BANGER_ACCEL=") + accel);
  argv.insert(argv.end(), command.begin(), command.end());
  auto r = run_capture(argv, "", u.dir);
  return {r.exit_code, r.out, r.err};
}

CliResult as_user(const User& u, const std::vector<std::string>& args) {
  std::vector<std::string> command = {banger_binary()};
  command.insert(command.end(), args.begin(), args.end());
  return run_as(u, command);
}

// README's web server example (the `-p 8080:80` line), as a shell command
// line for build/banger on host port `port`.
std::string readme_web_example(int port) {
  std::string readme = fs::read_file(std::string(BANGER_SOURCE_DIR) + "/README.md");
  size_t at = readme.find("banger vm run --rm -p 8080:80 -- ");
  REQUIRE(at != std::string::npos);
  std::string line = readme.substr(at, readme.find('\n', at) - at);
  line = line.substr(0, line.find("   #"));  // a trailing comment
  line.replace(line.find("8080:"), 4, std::to_string(port));
  return "exec " + banger_binary() + line.substr(6);
}

}  // namespace

TEST_CASE("e2e unprivileged: a normal user's default vm run builds debian-bookworm and boots it",
          "[e2e][vm][unprivileged]") {
  REQUIRE(geteuid() == 0);  // to make the users; banger itself runs as them
  TempDir t;
  REQUIRE(chmod(t.path().c_str(), 0711) == 0);
  const KernelFixture& k = debian_cloud_kernel();

  // Without subordinate ids the build stops before mmdebstrap, saying why.
  User bare = make_user(t, "banger-nosubid", true);
  auto refused = as_user(bare, {"image", "pull", "debian-bookworm"});
  CHECK(refused.code == 8);
  CHECK(refused.err.find(
            "error: building Debian bookworm as a normal user needs mmdebstrap's unshare mode, which needs "
            "65536 subordinate user ids for 'banger-nosubid' in /etc/subuid, which has none; "
            "65536 subordinate group ids for 'banger-nosubid' in /etc/subgid, which has none\n"
            "  hint: as root: echo banger-nosubid:100000:65536 >> /etc/subuid; "
            "echo banger-nosubid:100000:65536 >> /etc/subgid ('banger doctor' checks it)\n") !=
        std::string::npos);
  auto doctor = as_user(bare, {"doctor", "--json"});
  CHECK(doctor.out.find("\"name\": \"mmdebstrap mode\"") != std::string::npos);
  CHECK(doctor.out.find("unshare mode cannot work") != std::string::npos);

  User user = make_user(t, "banger-user", false);
  auto ok = as_user(user, {"doctor", "--json"});
  CHECK(ok.out.find("unshare mode (newuidmap, subordinate ids and user namespaces present)") !=
        std::string::npos);
  // The kernel comes from the test cache (kernel pull as a user is apt
  // download, the same as root's); the image is the point here. The cache
  // is root's own: the user gets a copy.
  run_checked({"cp", "-r", k.kernel, k.modules, user.dir}, "copying the test kernel");
  run_checked({"chown", "-R", user.name + ":", user.dir}, "chown");
  std::string modules = user.dir + "/" + k.modules.substr(k.modules.rfind('/') + 1);
  auto imported = as_user(user, {"kernel", "import", "--name", "debian-cloud", "--kernel",
                                 user.dir + "/vmlinuz", "--modules", modules});
  INFO(imported.err);
  REQUIRE(imported.code == 0);
  auto run = as_user(user, {"vm", "run", "--rm", "--", "sh", "-c", "id -u; grep ^ID= /etc/os-release"});
  INFO(run.err);
  CHECK(run.code == 0);
  CHECK(run.out == "0\nID=debian\n");
  auto ls = as_user(user, {"vm", "ls", "--json"});
  CHECK(ls.out == "[]\n");
  auto images = as_user(user, {"image", "ls"});
  CHECK(images.out.find("debian-bookworm") != std::string::npos);

  // README's web server example works on this default image (a shell loop
  // of nc: python3-minimal has no http.server).
  int port = 20000 + getpid() % 20000 + 1;
  CliResult served;
  std::thread server([&] {
    served = run_as(user, {"timeout", "300", "sh", "-c", readme_web_example(port)});
  });
  std::string body;
  for (int i = 0; i < 200 && body.find("hello from the VM") == std::string::npos; i++) {
    body = run_capture({"curl", "-fsS", "--max-time", "2", "http://127.0.0.1:" + std::to_string(port) + "/"})
               .out;
    if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(body == "hello from the VM\n");
  // Removing the VM ends the run (--rm had nothing left to do).
  auto vms = as_user(user, {"vm", "ls", "--json"});
  auto names = nlohmann::json::parse(vms.out);
  for (const auto& v : names) as_user(user, {"vm", "rm", "--force", v["name"].get<std::string>()});
  server.join();
  CHECK(served.code != 124);  // not the timeout
  CHECK(as_user(user, {"vm", "ls", "--json"}).out == "[]\n");
}
