#include <catch2/catch.hpp>

#include "host/workspace/diff.h"
#include "host/workspace/git_blob.h"
#include "host/workspace/manifest.h"
#include "tests/support/temp_dir.h"

using namespace banger::workspace;

namespace {

TreeEntry file(const std::string& data, uint32_t mode = 0644) {
  TreeEntry e;
  e.mode = mode;
  e.size = data.size();
  e.blob = git_blob_id(data);
  return e;
}

TreeEntry link(const std::string& target) {
  TreeEntry e = file(target, 0777);
  e.symlink = true;
  return e;
}

}  // namespace

TEST_CASE("workspace diff: added, modified, deleted, and mode changes as git or as files see them",
          "[workspace]") {
  Tree before = {{"a", file("a\n")},
                 {"b", file("b\n")},
                 {"c", file("c\n", 0644)},
                 {"d", file("d\n", 0640)},
                 {"l", link("a")}};
  Tree after = {{"a", file("a\n")},       {"b", file("B\n")}, {"c", file("c\n", 0755)},
                {"d", file("d\n", 0600)}, {"l", file("a")},   {"new/x", file("x\n")}};
  auto git = diff_trees(before, after, true);
  REQUIRE(git.size() == 4);
  CHECK((git[0].path == "b" && git[0].kind == ChangeKind::modified));
  CHECK((git[1].path == "c" && git[1].kind == ChangeKind::modified));  // the execute bit
  CHECK((git[2].path == "l" && git[2].kind == ChangeKind::modified));  // a symlink became a file
  CHECK((git[3].path == "new/x" && git[3].kind == ChangeKind::added));
  // As files (not git): 0640 -> 0600 is a change too.
  auto files = diff_trees(before, after, false);
  REQUIRE(files.size() == 5);
  CHECK(files[2].path == "d");
  // Deletions, and counts.
  auto del = diff_trees(after, before, true);
  auto c = count_changes(del);
  CHECK(c.added == 0);
  CHECK(c.modified == 3);
  CHECK(c.deleted == 1);
  CHECK(diff_trees(before, before, false).empty());
}

TEST_CASE("workspace blob ids are git's", "[workspace]") {
  // `printf 'hello\n' | git hash-object --stdin`, and the empty blob.
  CHECK(git_blob_id("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a");
  CHECK(git_blob_id("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

TEST_CASE("workspace manifest: any bytes in a path but NUL survive a round trip", "[workspace]") {
  banger::test::TempDir t;
  Tree tree = {{"plain", file("x")}, {"with space/and\nnewline\xff", file("y", 0755)}, {"ln", link("../x")}};
  save_manifest(t / "m", tree);
  Tree back = load_manifest(t / "m");
  REQUIRE(back.size() == 3);
  for (const auto& [p, e] : tree) {
    REQUIRE(back.count(p) == 1);
    CHECK(back[p].blob == e.blob);
    CHECK(back[p].mode == e.mode);
    CHECK(back[p].symlink == e.symlink);
  }
}
