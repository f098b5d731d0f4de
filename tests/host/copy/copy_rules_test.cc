#include <catch2/catch.hpp>

#include "host/copy/copy_rules.h"
#include "tests/support/error_text.h"

using namespace banger;
using namespace banger::copy;
using banger::test::error_message;

namespace {
std::string target(const std::string& src, bool src_is_dir, const std::string& dest, PathKind kind) {
  return copy_target(parse_copy_path(src), src_is_dir, parse_copy_path(dest), kind, src, dest);
}
}  // namespace

TEST_CASE("copy rules: a path's spelling says whether it means a directory or its contents", "[copy]") {
  CHECK(parse_copy_path("a/proj").base == "proj");
  CHECK_FALSE(parse_copy_path("a/proj").contents);
  CHECK(parse_copy_path("a/proj/").base == "proj");
  CHECK(parse_copy_path("a/proj/").dir_syntax);
  CHECK(parse_copy_path("a/proj/.").contents);
  CHECK(parse_copy_path("a/proj/.").dir_syntax);
  CHECK(parse_copy_path(".").contents);
  CHECK(parse_copy_path("..").contents);
  CHECK(parse_copy_path("/").contents);
  CHECK(parse_copy_path("/root").base == "root");
}

TEST_CASE("copy rules: docker cp's rules for files, directories and existing destinations", "[copy]") {
  // A file: into a directory, over a file, or created (a trailing / makes a directory).
  CHECK(target("/etc/hosts", false, "out", PathKind::dir) == "out/hosts");
  CHECK(target("/etc/hosts", false, "out/", PathKind::dir) == "out/hosts");
  CHECK(target("/etc/hosts", false, "out", PathKind::other) == "out");
  CHECK(target("/etc/hosts", false, "new", PathKind::missing) == "new");
  CHECK(target("/etc/hosts", false, "new/", PathKind::missing) == "new/hosts");
  // A directory: created with its contents, or copied into an existing one.
  CHECK(target("proj", true, "/root/proj", PathKind::missing) == "/root/proj");
  CHECK(target("proj", true, "/root", PathKind::dir) == "/root/proj");
  CHECK(target("proj/", true, "/root", PathKind::dir) == "/root/proj");
  CHECK(target("proj/.", true, "/root", PathKind::dir) == "/root");
  CHECK(target(".", true, "/work", PathKind::dir) == "/work");
  CHECK(target(".", true, "/work", PathKind::missing) == "/work");
  CHECK(target("/", true, "/", PathKind::dir) == "/");
  // What the rules refuse.
  CHECK(error_message([] { target("proj", true, "dev:/etc/hostname", PathKind::other); }) ==
        "cannot copy the directory proj onto the file dev:/etc/hostname");
  CHECK(error_message([] { target("notes.txt/", false, "out", PathKind::dir); }) ==
        "notes.txt/ is not a directory");
  CHECK(error_message([] { target("/etc/hosts", false, "file/", PathKind::other); }) ==
        "file/ is not a directory");
}
