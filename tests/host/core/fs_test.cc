#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "host/core/fs.h"
#include "host/core/lock.h"
#include "host/core/error.h"
#include "tests/support/temp_dir.h"

using namespace banger;

TEST_CASE("fs: a staging dir vanishes unless released", "[core]") {
  test::TempDir t;
  std::string kept;
  {
    fs::StagingDir a(t.path(), "pull");
    fs::write_file(a.path() + "/x", "data");
    CHECK(fs::exists(a.path() + "/x"));
    kept = a.path();
  }
  CHECK_FALSE(fs::exists(kept));
  {
    fs::StagingDir b(t.path(), "pull");
    kept = b.path();
    b.release();
  }
  CHECK(fs::exists(kept));
}

TEST_CASE("fs: make_dirs creates 0700 directories", "[core]") {
  test::TempDir t;
  fs::make_dirs(t / "a/b/c");
  struct stat st;
  REQUIRE(stat((t / "a/b/c").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("fs: write_file_atomic replaces the file whole", "[core]") {
  test::TempDir t;
  fs::write_file_atomic(t / "f", "one");
  fs::write_file_atomic(t / "f", "two");
  CHECK(fs::read_file(t / "f") == "two");
}

TEST_CASE("lock: a held lock makes a non-waiting second taker fail with a conflict", "[core]") {
  test::TempDir t;
  FileLock first(t / "lock", "image 'x'");
  try {
    FileLock second(t / "lock", "image 'x'", false);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::conflict);
    CHECK(e.message() == "image 'x' is busy: another banger process is working on it");
  }
}
