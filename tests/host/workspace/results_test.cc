// The workspace's way in and out without a VM: the disk is built from a real
// repository (or directory), edited the way a guest would (host/ext4's
// editor, or raw libext2fs calls for what no kernel would write), and read
// back into a branch, the working tree, or an export directory.
#include <ext2fs/ext2fs.h>
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/ext4/editor.h"
#include "host/workspace/export_dir.h"
#include "host/workspace/workspace.h"
#include "tests/support/error_text.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::workspace;
using banger::test::TempDir;

namespace {

// A repository with a commit, an uncommitted change, an untracked file and
// an ignored one.
void make_repo(const std::string& dir) {
  test::sh_in(dir,
              "git init -q -b main . && printf 'keep\\n' > keep.txt && printf 'old\\n' > edit.txt && "
              "printf 'gone\\n' > gone.txt && printf '#!/bin/sh\\n' > run.sh && mkdir -p src && "
              "printf 'int x;\\n' > src/x.c && printf 'build/\\n' > .gitignore && "
              "git add -A && git commit -q -m first && printf 'dirty\\n' >> keep.txt && "
              "printf 'new\\n' > untracked.txt && mkdir build && printf 'obj\\n' > build/out.o");
}

struct Vm {
  TempDir state;
  Workspace ws;
  Vm(const std::string& source, const std::string& name) {
    ws = create({name, source, state.path(), 64ull << 20});
  }
  ExportResult out(const std::string& name, ExportMode mode, const std::string& dir = {}) {
    return export_results({name, ws, mode, dir, state.path()});
  }
};

// What a guest does to its /work.
void guest_edits(const std::string& disk) {
  auto e = ext4::Editor::open(disk, true);
  e->write("/edit.txt", "new contents\n", 0644);
  e->rm("/gone.txt");
  e->chmod("/run.sh", 0755);
  e->mkdir("/src/deep", 0755);
  e->write("/src/deep/added.c", "int y;\n", 0644);
  e->symlink("/passwd", "/etc/passwd");
  e->mkdir("/build", 0755, {}, true);
  e->write("/build/more.o", "ignored\n", 0644);
  e->close();
}

}  // namespace

TEST_CASE("workspace: a repository's disk holds tracked, untracked-not-ignored files and .git",
          "[workspace]") {
  TempDir repo;
  make_repo(repo.path());
  Vm vm(repo.path(), "box");
  CHECK(vm.ws.git);
  CHECK(vm.ws.files == 7);  // .gitignore edit gone keep run.sh src/x.c untracked
  auto e = ext4::Editor::open(vm.ws.disk, false);
  CHECK(e->read("/keep.txt") == "keep\ndirty\n");
  CHECK(e->read("/untracked.txt") == "new\n");
  CHECK_FALSE(e->exists("/build/out.o"));
  CHECK(e->exists("/.git/HEAD"));
  CHECK(e->stat("/.git").type == ext4::FileType::directory);
  // The workspace was taken from a commit on HEAD holding the uncommitted changes.
  std::string head = test::sh_in(repo.path(), "git rev-parse HEAD");
  CHECK(vm.ws.head + "\n" == head);
  CHECK(test::sh_in(repo.path(), "git rev-parse " + vm.ws.base + "^") == head);
  CHECK(test::sh_in(repo.path(), "git show " + vm.ws.base + ":untracked.txt") == "new\n");
  RunResult fsck = run_capture({"e2fsck", "-fn", vm.ws.disk});
  INFO(fsck.out << fsck.err);
  CHECK(fsck.exit_code == 0);
}

TEST_CASE(
    "workspace: the guest's changes become branch banger/NAME, the user's tree, index and HEAD untouched",
    "[workspace]") {
  TempDir repo;
  make_repo(repo.path());
  std::string status = test::sh_in(repo.path(), "git status --porcelain=v1 -uall");
  std::string index = fs::read_file(repo / ".git/index");
  std::string head = test::sh_in(repo.path(), "git symbolic-ref HEAD; git rev-parse HEAD");
  Vm vm(repo.path(), "box");
  CHECK(vm.out("box", ExportMode::branch).kind == "none");
  guest_edits(vm.ws.disk);
  ExportResult r = vm.out("box", ExportMode::branch);
  CHECK(r.kind == "branch");
  CHECK(r.branch == "banger/box");
  CHECK(r.counts.added == 2);  // src/deep/added.c, passwd (build/ is ignored)
  CHECK(r.counts.modified == 2);
  CHECK(r.counts.deleted == 1);
  CHECK(r.skipped == std::vector<std::string>{"build/more.o"});
  // The branch's parent is the commit the workspace was taken from.
  CHECK(test::sh_in(repo.path(), "git rev-parse banger/box^") == vm.ws.base + "\n");
  CHECK(test::sh_in(repo.path(), "git diff --name-status banger/box^ banger/box") ==
        "M\tedit.txt\nD\tgone.txt\nA\tpasswd\nM\trun.sh\nA\tsrc/deep/added.c\n");
  CHECK(test::sh_in(repo.path(), "git ls-tree banger/box run.sh passwd | cut -c1-6") == "120000\n100755\n");
  CHECK(test::sh_in(repo.path(), "git cat-file -p banger/box:passwd") == "/etc/passwd");
  CHECK(test::sh_in(repo.path(), "git show banger/box:edit.txt") == "new contents\n");
  // Nothing of the user's moved.
  CHECK(test::sh_in(repo.path(), "git status --porcelain=v1 -uall") == status);
  CHECK(fs::read_file(repo / ".git/index") == index);
  CHECK(test::sh_in(repo.path(), "git symbolic-ref HEAD; git rev-parse HEAD") == head);
  CHECK(fs::read_file(repo / "edit.txt") == "old\n");
  // Exporting again moves the branch to the same result; a checked-out one is refused.
  std::string tree = test::sh_in(repo.path(), "git rev-parse banger/box^{tree}");
  CHECK(vm.out("box", ExportMode::branch).kind == "branch");
  CHECK(test::sh_in(repo.path(), "git rev-parse banger/box^{tree}") == tree);
  test::sh_in(repo.path(), "git stash -q -u && git switch -q banger/box");
  CHECK(test::error_message([&] { vm.out("box", ExportMode::branch); }) ==
        "branch banger/box is checked out in " + vm.ws.source + ": not moved");
}

TEST_CASE("workspace: --apply writes the changes to the working tree only, all or nothing", "[workspace]") {
  TempDir repo;
  make_repo(repo.path());
  std::string index = fs::read_file(repo / ".git/index");
  Vm vm(repo.path(), "box");
  guest_edits(vm.ws.disk);
  ExportResult r = vm.out("box", ExportMode::apply);
  CHECK(r.kind == "applied");
  CHECK(fs::read_file(repo / "edit.txt") == "new contents\n");
  CHECK_FALSE(fs::exists(repo / "gone.txt"));
  CHECK(fs::read_file(repo / "src/deep/added.c") == "int y;\n");
  CHECK(std::filesystem::is_symlink(repo / "passwd"));
  CHECK(std::filesystem::read_symlink(repo / "passwd") == "/etc/passwd");
  struct stat st {};
  stat((repo / "run.sh").c_str(), &st);
  CHECK((st.st_mode & 0100) != 0);
  CHECK(fs::read_file(repo / "keep.txt") == "keep\ndirty\n");  // the user's own change stays
  CHECK(fs::read_file(repo / ".git/index") == index);
  CHECK_FALSE(test::sh_in(repo.path(), "git branch --list 'banger/*'").size());

  // The working tree moved on meanwhile: nothing is applied, the results go to the branch.
  TempDir repo2;
  make_repo(repo2.path());
  Vm vm2(repo2.path(), "two");
  guest_edits(vm2.ws.disk);
  fs::write_file(repo2 / "edit.txt", "the user's own edit\n");
  try {
    vm2.out("two", ExportMode::apply);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::conflict);
    CHECK(e.message().rfind("applying the changes to the working tree of " + vm2.ws.source + " failed: ",
                            0) == 0);
    CHECK(e.hint() ==
          "the changes are on branch banger/two instead (the working tree changed since the workspace was "
          "taken)");
  }
  CHECK(fs::read_file(repo2 / "edit.txt") == "the user's own edit\n");
  CHECK(fs::exists(repo2 / "gone.txt"));
  CHECK(test::sh_in(repo2.path(), "git rev-parse --verify -q banger/two").size() == 41);
}

TEST_CASE("workspace: commits the guest made come back on the branch, checked by git", "[workspace]") {
  TempDir repo;
  make_repo(repo.path());
  test::sh_in(repo.path(), "git stash -q -u");  // a clean tree: the workspace is taken from HEAD itself
  Vm vm(repo.path(), "box");
  CHECK(vm.ws.base == vm.ws.head);
  // A guest that committed: its disk is a clone with two new commits and an
  // uncommitted edit on top.
  TempDir guest;
  test::sh_in(guest.path(),
              "git clone -q " + repo.path() +
                  " w && cd w && printf 'one\\n' > one && git add one && "
                  "git commit -q -m one && printf 'two\\n' > two && git add two && git commit -q -m two && "
                  "printf 'later\\n' > edit.txt");
  TempDir other;
  Workspace g = create({"box", guest / "w", other.path(), 64ull << 20});
  vm.ws.disk = g.disk;
  ExportResult r = vm.out("box", ExportMode::branch);
  CHECK(r.kind == "branch");
  CHECK(r.commits == 2);
  CHECK(r.note.empty());
  CHECK(r.counts.modified == 1);
  CHECK(r.counts.total() == 1);
  CHECK(test::sh_in(repo.path(), "git log --format=%s banger/box") ==
        "banger: changes in the workspace of VM box\ntwo\none\nfirst\n");
  CHECK(test::sh_in(repo.path(), "git show banger/box:edit.txt") == "later\n");
}

TEST_CASE("workspace: a directory that is not a repository exports its changed files to a new directory",
          "[workspace]") {
  TempDir src, out;
  test::sh_in(src.path(),
              "printf 'a\\n' > a && printf 'b\\n' > b && mkdir d && printf 'c\\n' > d/c && chmod 640 d/c");
  Vm vm(src.path(), "box");
  CHECK_FALSE(vm.ws.git);
  CHECK(vm.out("box", ExportMode::check).kind == "none");
  {
    auto e = ext4::Editor::open(vm.ws.disk, true);
    e->write("/a", "A\n", 06755);  // setuid from the guest
    e->rm("/b");
    e->chmod("/d/c", 0600);
    e->symlink("/d/evil", "/etc/passwd");
    e->close();
  }
  CHECK(vm.out("box", ExportMode::check).kind == "pending");
  CHECK(test::error_message([&] { vm.out("box", ExportMode::branch); }) ==
        "the workspace " + vm.ws.source + " of VM 'box' is not a git repository");
  std::string dest = out / "results";
  ExportResult r = vm.out("box", ExportMode::dir, dest);
  CHECK(r.kind == "dir");
  CHECK(r.counts.added == 1);
  CHECK(r.counts.modified == 2);
  CHECK(r.counts.deleted == 1);
  CHECK(fs::read_file(dest + "/a") == "A\n");
  struct stat st {};
  REQUIRE(stat((dest + "/a").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == (0755 & ~fs::current_umask()));  // no setuid on the host
  CHECK(std::filesystem::read_symlink(dest + "/d/evil") == "/etc/passwd");
  CHECK(fs::read_file(dest + "/" + kDeletedList) == "b\n");
  CHECK_FALSE(fs::exists(dest + "/b"));
  // Written once: a second export into the same directory is refused before anything is written.
  CHECK(test::error_message([&] { vm.out("box", ExportMode::dir, dest); }) ==
        "the export directory " + dest + " already exists and is not empty");
  // Nothing else appeared beside it (no staging left behind).
  CHECK(std::distance(std::filesystem::directory_iterator(out.path()), {}) == 1);
}

namespace {

// Adds a directory entry no kernel would write (a '/' in a name, a second
// entry of one name) straight into the disk's directory `dir`.
void raw_link(const std::string& disk, const std::string& dir, const std::string& name,
              const std::string& target) {
  ext2_filsys fs = nullptr;
  REQUIRE(ext2fs_open(disk.c_str(), EXT2_FLAG_RW, 0, 0, unix_io_manager, &fs) == 0);
  ext2_ino_t d = 0, t = 0;
  REQUIRE(ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dir.c_str(), &d) == 0);
  REQUIRE(ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, target.c_str(), &t) == 0);
  errcode_t err = ext2fs_link(fs, d, name.c_str(), t, EXT2_FT_DIR);
  if (err == EXT2_ET_DIR_NO_SPACE) {
    REQUIRE(ext2fs_expand_dir(fs, d) == 0);
    err = ext2fs_link(fs, d, name.c_str(), t, EXT2_FT_DIR);
  }
  REQUIRE(err == 0);
  REQUIRE(ext2fs_close2(fs, 0) == 0);
}

}  // namespace

TEST_CASE(
    "workspace hostile guest: names with '/' or '..', duplicate names and directory loops are refused, "
    "nothing is written",
    "[workspace]") {
  TempDir src, out;
  test::sh_in(src.path(), "mkdir -p sub && printf 'x\\n' > sub/x");
  std::string dest = out / "results";
  const std::string hint =
      "the guest left the workspace in a state banger does not read back; nothing was exported";

  SECTION("a name that climbs out") {
    Vm vm(src.path(), "box");
    {
      auto e = ext4::Editor::open(vm.ws.disk, true);
      e->write("/payload", "owned\n", 0644);
      e->close();
    }
    raw_link(vm.ws.disk, "sub", "../../../../tmp/banger-escape", "payload");
    try {
      vm.out("box", ExportMode::dir, dest);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(
          e.message() ==
          "the workspace disk of VM 'box': an entry named '../../../../tmp/banger-escape' in 'sub': refused");
      CHECK(e.hint() == hint);
    }
  }
  SECTION("a symlink and a directory under one name") {
    Vm vm(src.path(), "box");
    {
      auto e = ext4::Editor::open(vm.ws.disk, true);
      e->symlink("/dup", "/etc");
      e->mkdir("/realdir", 0755);
      e->write("/realdir/passwd", "owned\n", 0644);
      e->close();
    }
    raw_link(vm.ws.disk, "", "dup", "realdir");
    CHECK(test::error_message([&] { vm.out("box", ExportMode::dir, dest); }) ==
          "the workspace disk of VM 'box': two entries named 'dup' at its top: refused");
  }
  SECTION("a directory inside itself") {
    Vm vm(src.path(), "box");
    raw_link(vm.ws.disk, "sub", "loop", "sub");
    CHECK(test::error_message([&] { vm.out("box", ExportMode::dir, dest); }) ==
          "the workspace disk of VM 'box': a directory reached twice ('loop') in 'sub': refused");
  }
  CHECK_FALSE(fs::exists(dest));
  CHECK_FALSE(fs::exists("/tmp/banger-escape"));
  CHECK(std::distance(std::filesystem::directory_iterator(out.path()), {}) == 0);
}
