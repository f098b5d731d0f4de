#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/lock.h"
#include "host/core/staging_dir.h"
#include "tests/support/temp_dir.h"

using namespace banger;

TEST_CASE("fs: a staging dir vanishes unless released or published, and is published without its lock",
          "[core]") {
  test::TempDir t;
  std::string kept;
  {
    fs::StagingDir a(t.path(), "pull");
    fs::write_file(a.path() + "/x", "data");
    CHECK(fs::exists(a.path() + "/" + fs::kStagingLock));
    kept = a.path();
  }
  CHECK_FALSE(fs::exists(kept));
  {
    fs::StagingDir b(t.path(), "pull");
    kept = b.path();
    b.release();
  }
  CHECK(fs::exists(kept));
  CHECK_FALSE(fs::exists(kept + "/" + fs::kStagingLock));
  {
    fs::StagingDir c(t.path(), "pull", fs::StagingDir::OnExit::keep);
    kept = c.path();
  }
  CHECK(fs::exists(kept));
  {
    fs::StagingDir d(t.path(), "pull");
    fs::write_file(d.path() + "/x", "data");
    d.publish(t / "published");
  }
  CHECK(fs::read_file(t / "published/x") == "data");
  CHECK_FALSE(fs::exists(t / (std::string("published/") + fs::kStagingLock)));
  {
    // A failed publish leaves the directory to its owner, who removes it.
    fs::StagingDir e(t.path(), "pull");
    kept = e.path();
    CHECK_THROWS(e.publish(t / "missing-parent/x"));
  }
  CHECK_FALSE(fs::exists(kept));
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

TEST_CASE("fs: a pending file replaces a symlink at its path instead of writing through it", "[core]") {
  test::TempDir t;
  fs::write_file(t / "victim", "precious", 0644);
  REQUIRE(::symlink((t / "victim").c_str(), (t / "dest").c_str()) == 0);
  {
    fs::PendingFile f(t / "dest");
    CHECK(f.temp_path().rfind(t / ".dest.banger-", 0) == 0);
    f.write("new bytes");
    f.publish(06755, false);
  }
  struct stat st {};
  REQUIRE(::lstat((t / "dest").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0755);  // permission bits only
  CHECK(fs::read_file(t / "dest") == "new bytes");
  CHECK(fs::read_file(t / "victim") == "precious");
}

TEST_CASE("fs: a pending file that is not published leaves nothing, and its path as it was", "[core]") {
  test::TempDir t;
  fs::write_file(t / "dest", "old", 0644);
  std::string tmp;
  {
    fs::PendingFile f(t / "dest");
    f.write("half");
    tmp = f.temp_path();
    CHECK(fs::exists(tmp));
  }
  CHECK_FALSE(fs::exists(tmp));
  CHECK(fs::read_file(t / "dest") == "old");
}

TEST_CASE("fs: current_umask reads the mask without changing it", "[core]") {
  mode_t old = ::umask(027);
  CHECK(fs::current_umask() == 027);
  CHECK(fs::current_umask() == 027);
  ::umask(old);
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
