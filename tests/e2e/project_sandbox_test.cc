// End to end under TCG: a repository's .banger/sandbox.lua, booted by
// `banger run` from anywhere inside the repository, as a developer or a CI
// job runs it.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <nlohmann/json.hpp>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/cli.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

TEST_CASE(
    "e2e project: banger run boots .banger/sandbox.lua - its command, env, cpus, disk, mounts - and cleans "
    "up",
    "[e2e][vm][project]") {
  SandboxHome home;
  std::string repo = home.path("repo");
  fs::make_dirs(repo + "/.banger");
  fs::make_dirs(repo + "/src/deep");
  fs::write_file(repo + "/README", "as committed\n");
  // A live mount of an ignored directory of the project (not in the workspace).
  fs::write_file(repo + "/.gitignore", "shared/\n");
  fs::make_dirs(repo + "/shared");
  fs::write_file(repo + "/shared/in", "from the host\n");
  // A user's, as a checkout is, and reachable by that user (the guest's
  // root writes there as the directory's owner).
  REQUIRE(::chown((repo + "/shared").c_str(), 1000, 1000) == 0);
  for (const std::string& dir : {home.path(""), repo}) REQUIRE(::chmod(dir.c_str(), 0711) == 0);
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_checked(argv, "git");
  };
  git({"init", "-q"});
  git({"add", "-A"});
  git({"commit", "-qm", "start"});
  fs::write_file(repo + "/.banger/sandbox.lua", R"(return {
  command = { "sh", "-c", "echo cpus=$(nproc) ci=$CI; df -m / | awk 'NR == 2 { print \"disk=\" $2 }'; echo from the guest > README; cat /mnt/shared/in; echo guest wrote > /mnt/shared/out; exit 3" },
  cpus = 1, memory = "512M", disk = "3G", net = "none",
  mounts = { "shared:/mnt/shared" },
  env = { CI = "1" },
}
)");
  CliOptions o = home.env();
  o.cwd = repo + "/src/deep";  // found walking up, as git finds .git
  auto r = run_banger({"run"}, o);
  INFO(r.err);
  CHECK(r.code == 3);  // the command's own exit code
  CHECK(r.out.find("cpus=1 ci=1\n") != std::string::npos);
  CHECK(r.out.find("from the host\n") != std::string::npos);
  CHECK(fs::read_file(repo + "/shared/out") == "guest wrote\n");
  // The 3G disk: the agent grew the image's filesystem to fill it at boot.
  auto at = r.out.find("disk=");
  REQUIRE(at != std::string::npos);
  CHECK(std::stol(r.out.substr(at + 5)) > 2800);
  // The project was the workspace: the guest's change is on a branch, the
  // working tree is as it was.
  std::string branch = git({"branch", "--list", "banger/*", "--format=%(refname:short)"});
  REQUIRE(branch.rfind("banger/debian-bookworm-", 0) == 0);
  branch.pop_back();
  CHECK(git({"show", branch + ":README"}) == "from the guest\n");
  CHECK(fs::read_file(repo + "/README") == "as committed\n");
  CHECK(r.err.find("changes from VM '" + branch.substr(7) + "' are on branch " + branch + " in " + repo) !=
        std::string::npos);

  // Another command in the same sandbox, for CI: with --json stdout holds
  // one object (the guest's stdout goes to stderr); nothing of either VM stays.
  auto other = run_banger({"run", "--json", "--", "sh", "-c", "echo other $CI; exit 4"}, o);
  CHECK(other.code == 4);
  CHECK(other.err.find("other 1\n") != std::string::npos);
  auto result = nlohmann::json::parse(other.out);
  CHECK(result["exit_code"] == 4);
  CHECK(result["name"].get<std::string>().rfind("debian-bookworm-", 0) == 0);
  CHECK_FALSE(result.contains("signal"));
  for (const char* stage : {"create", "start", "run"}) CHECK(result["stages_ms"][stage].get<int>() >= 0);
  CHECK(result["stages_ms"]["start"].get<int>() > 100);  // a boot
  CHECK(result["changes"]["kind"] == "none");
  CHECK(home.must({"vm", "ls", "--json"}).out == "[]\n");
  CHECK(qemu_processes(home.path("home")) == 0);

  // A disk smaller than the image is refused before anything is made.
  auto small = run_banger({"vm", "create", "--name", "tiny", "--disk", "16M"}, home.env());
  CHECK(small.code == 2);
  CHECK(small.err.find("error: --disk 16M for VM 'tiny' is smaller than its image's root disk (") !=
        std::string::npos);
  CHECK(home.must({"vm", "ls", "--json"}).out == "[]\n");
}

TEST_CASE("cli project: a sandbox file's mistakes and a directory outside any project are clear errors",
          "[cli][project]") {
  TempDir t;
  std::string repo = t / "repo";
  fs::make_dirs(repo + "/.banger");
  std::string file = repo + "/.banger/sandbox.lua";
  CliOptions o = home_in(t.path(), repo);

  fs::write_file(file, "return { cpu = 2 }\n");
  auto typo = run_banger({"run"}, o);
  CHECK(typo.code == 2);
  CHECK(typo.err == "error: " + file + ": unknown key 'cpu'\n  hint: did you mean 'cpus'?\n");

  fs::write_file(file, "return { memory = 'lots' }\n");
  auto size = run_banger({"run"}, o);
  CHECK(size.code == 2);
  CHECK(size.err.rfind("error: " + file + ": memory must be a size like 512M or 10G, got 'lots'\n", 0) == 0);

  fs::write_file(file, "return { cpus = 1 }\n");
  auto plain = run_banger({"run"}, o);
  CHECK(plain.code == 2);
  CHECK(
      plain.err ==
      "error: the project " + repo +
          " is not a git repository: its sandbox's changes need --export DIR\n"
          "  hint: give --export DIR, or set workspace = false in .banger/sandbox.lua for a sandbox without "
          "the project's files\n");

  fs::write_file(file, "return 42\n");
  auto number = run_banger({"run"}, o);
  CHECK(number.code == 2);
  CHECK(number.err.rfind("error: " + file + " must return a table, got number\n", 0) == 0);

  auto none = run_banger({"run"}, home_in(t.path()));
  CHECK(none.code == 3);
  CHECK(none.err ==
        "error: this directory is in no project with a sandbox file\n"
        "  hint: create .banger/sandbox.lua (see docs/recipes.md), or run 'banger run FILE.lua'\n");
}
