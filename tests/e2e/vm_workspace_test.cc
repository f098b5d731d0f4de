// End to end under TCG: a project's files in a VM at /work, and what the
// guest changed there brought back by the host reading the disk itself (the
// test image has no git).
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

// The last line of a command's stderr (stage lines come first).
std::string last_line(const std::string& text) {
  size_t end = text.size() && text.back() == '\n' ? text.size() - 1 : text.size();
  size_t start = text.rfind('\n', end ? end - 1 : 0);
  return text.substr(start == std::string::npos ? 0 : start + 1);
}

}  // namespace

TEST_CASE("e2e workspace: a repository at /work, the guest's changes on branch banger/NAME, then --apply",
          "[e2e][vm]") {
  SandboxHome home;
  TempDir repo_dir;
  const std::string repo = std::filesystem::canonical(repo_dir.path()).string();
  test::sh_in(repo,
              "git init -q -b main . && printf 'old\\n' > edit.txt && printf 'gone\\n' > gone.txt && "
              "printf 'echo hi\\n' > run.sh && printf 'out/\\n' > .gitignore && git add -A && git commit -q "
              "-m first && "
              "printf 'untracked\\n' > notes.txt && mkdir out && printf 'x\\n' > out/ignored");
  std::string status = test::sh_in(repo, "git status --porcelain=v1 -uall");
  std::string head = test::sh_in(repo, "git rev-parse HEAD");
  std::string index = fs::read_file(repo + "/.git/index");

  home.must({"vm", "create", "--name", "ws", "--net", "none", "--workspace", repo});
  home.must({"vm", "start", "ws"});
  // In the guest: the tracked and untracked files and .git, not the ignored ones.
  auto ls = home.must(
      {"vm", "exec", "ws", "--", "sh", "-c", "cd /work && ls -A && cat notes.txt && test -f .git/HEAD"});
  CHECK(ls.out == ".git\n.gitignore\nedit.txt\ngone.txt\nlost+found\nnotes.txt\nrun.sh\nuntracked\n");
  // Nothing changed yet: no branch, and the line says so.
  CHECK(home.must({"vm", "export", "ws"}).out == "no changes from VM 'ws' in the workspace\n");
  CHECK(test::sh_in(repo, "git branch --list 'banger/*'").empty());
  home.must({"vm", "exec", "ws", "--", "sh", "-c",
             "cd /work && printf 'new\\n' > edit.txt && rm gone.txt && chmod 755 run.sh && mkdir -p src && "
             "printf 'int main;\\n' > src/main.c && ln -s /etc/passwd passwd && mkdir -p out && printf "
             "'y\\n' > out/built"});

  // Exported from the running VM (synced first): a branch whose parent is
  // the commit the workspace was taken from.
  auto exp = home.must({"vm", "export", "ws"});
  CHECK(exp.out ==
        "changes from VM 'ws' are on branch banger/ws in " + repo + " (2 added, 2 modified, 1 deleted)\n");
  std::string base = test::sh_in(repo, "git rev-parse banger/ws^");
  CHECK(test::sh_in(repo, "git rev-parse " + base.substr(0, 40) + "^") ==
        head);  // the uncommitted notes.txt, on HEAD
  CHECK(test::sh_in(repo, "git diff --name-status banger/ws^ banger/ws") ==
        "M\tedit.txt\nD\tgone.txt\nA\tpasswd\nM\trun.sh\nA\tsrc/main.c\n");
  CHECK(test::sh_in(repo, "git ls-tree banger/ws passwd run.sh | cut -c1-6") == "120000\n100755\n");
  CHECK(test::sh_in(repo, "git show banger/ws:src/main.c") == "int main;\n");
  CHECK(test::sh_in(repo, "git status --porcelain=v1 -uall") == status);
  CHECK(test::sh_in(repo, "git rev-parse HEAD") == head);
  CHECK(test::sh_in(repo, "git symbolic-ref HEAD") == "refs/heads/main\n");
  CHECK(fs::read_file(repo + "/.git/index") == index);
  CHECK(fs::read_file(repo + "/edit.txt") == "old\n");

  // Stopped, then applied to the working tree instead.
  home.must({"vm", "stop", "ws"});
  auto applied = home.must({"vm", "export", "ws", "--apply"});
  CHECK(applied.out == "changes from VM 'ws' are applied to the working tree of " + repo +
                           " (2 added, 2 modified, 1 deleted)\n");
  CHECK(fs::read_file(repo + "/edit.txt") == "new\n");
  CHECK_FALSE(fs::exists(repo + "/gone.txt"));
  CHECK(fs::read_file(repo + "/src/main.c") == "int main;\n");
  CHECK(std::filesystem::read_symlink(repo + "/passwd") == "/etc/passwd");
  struct stat st {};
  REQUIRE(stat((repo + "/run.sh").c_str(), &st) == 0);
  CHECK((st.st_mode & 0100) != 0);
  CHECK(fs::read_file(repo + "/out/ignored") == "x\n");  // the host's ignored file is left alone
  CHECK_FALSE(fs::exists(repo + "/out/built"));          // ignored: it stays in the VM
  CHECK(fs::read_file(repo + "/.git/index") == index);
  home.must({"vm", "rm", "ws"});
}

TEST_CASE(
    "e2e workspace: vm run in a plain directory runs at /work and exports the changed files with --export",
    "[e2e][vm]") {
  SandboxHome home;
  TempDir src_dir, out_dir;
  const std::string src = std::filesystem::canonical(src_dir.path()).string();
  test::sh_in(src, "printf 'a\\n' > a && printf 'b\\n' > b && mkdir d && printf 'c\\n' > d/c");
  const std::string dest = out_dir.path() + "/results";

  // A run whose changes could not come back is refused before a VM exists.
  auto refused =
      run_banger({"vm", "run", "--rm", "--net", "none", "--workspace", src, "--", "true"}, home.env());
  CHECK(refused.code == 2);
  CHECK(refused.err.find("error: the workspace " + src +
                         " is not a git repository: its changes need --export DIR\n") != std::string::npos);

  auto run = home.must({"vm", "run", "--rm", "--name", "plain", "--net", "none", "--workspace", src,
                        "--export", dest, "--", "sh", "-c",
                        "pwd && printf 'A\\n' > a && rm b && chmod 4755 d/c && ln -s /etc/shadow d/evil && "
                        "mknod fifo p"});
  CHECK(run.out == "/work\n");
  CHECK(last_line(run.err) ==
        "changes from VM 'plain' are in " + dest + " (1 added, 2 modified, 1 deleted)\n");
  CHECK(fs::read_file(dest + "/a") == "A\n");
  CHECK(fs::read_file(dest + "/d/c") == "c\n");
  struct stat st {};
  REQUIRE(lstat((dest + "/d/c").c_str(), &st) == 0);
  CHECK((st.st_mode & 07000) == 0);  // the guest's setuid stays in the guest
  CHECK(std::filesystem::read_symlink(dest + "/d/evil") == "/etc/shadow");
  CHECK(fs::read_file(dest + "/.banger-deleted") == "b\n");
  CHECK_FALSE(fs::exists(dest + "/fifo"));
  CHECK(fs::read_file(src + "/a") == "a\n");  // the source is never written
  CHECK(fs::exists(src + "/b"));
  CHECK(std::distance(std::filesystem::directory_iterator(out_dir.path()), {}) == 1);
}

TEST_CASE("e2e workspace: vm run writes the disk while the VM boots, and the guest sees every byte of it",
          "[e2e][vm]") {
  SandboxHome home;
  TempDir src_dir, out_dir;
  const std::string src = std::filesystem::canonical(src_dir.path()).string();
  // Enough that the writing is still going on when the kernel probes the disk.
  test::sh_in(src,
              "mkdir -p a/b && for i in $(seq 1 400); do echo \"file $i\" > a/b/f$i; done && "
              "head -c 16777216 /dev/urandom > big && ln -s a/b/f1 link");
  const std::string sums =
      "find . -path ./lost+found -prune -o \\( -type f -o -type l \\) -print | LC_ALL=C sort | "
      "while read -r f; do if [ -L \"$f\" ]; then echo \"$f -> $(readlink \"$f\")\"; "
      "else md5sum \"$f\"; fi; done";
  const std::string want = test::sh_in(src, sums);
  const std::string dest = out_dir.path() + "/results";
  auto run = home.must({"vm", "run", "--rm", "--net", "none", "--workspace", src, "--export", dest, "--",
                        "sh", "-c", "grep -o banger.workspace_later /proc/cmdline && " + sums});
  CHECK(run.out == "banger.workspace_later\n" + want);
  CHECK(last_line(run.err).find("no changes from VM ") == 0);
}

TEST_CASE("e2e workspace: a VM whose workspace disk was never finished refuses to start and to export",
          "[e2e][vm]") {
  SandboxHome home;
  TempDir src_dir;
  const std::string src = std::filesystem::canonical(src_dir.path()).string();
  test::sh_in(src, "printf 'a\\n' > a");
  home.must({"vm", "create", "--name", "half", "--net", "none", "--workspace", src});
  // As a `vm run` killed while it wrote the disk leaves the record.
  set_record_json(home, "vm", "half", "workspace.later", "true");
  const std::string said =
      "error: VM 'half': its workspace disk was never finished (the command that created it ended while "
      "writing "
      "it)\n  hint: remove the VM with 'banger vm rm half' and create it again\n";
  auto start = run_banger({"vm", "start", "half"}, home.env());
  CHECK(start.code == 4);
  CHECK(start.err.find(said) != std::string::npos);
  auto exp = run_banger({"vm", "export", "half", "--export", src_dir.path() + "/out"}, home.env());
  CHECK(exp.code == 4);
  CHECK(exp.err.find(said) != std::string::npos);
  CHECK(qemu_processes(home.path("home")) == 0);
  home.must({"vm", "rm", "half"});
}
