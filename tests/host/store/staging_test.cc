#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "host/core/fs.h"
#include "host/core/staging_dir.h"
#include "host/store/staging.h"
#include "tests/support/temp_dir.h"

using namespace banger;

TEST_CASE("staging: the dir of a process killed with SIGKILL is reclaimed - a live owner's never is",
          "[store]") {
  test::TempDir t;
  // The dead owner: a real process that makes its staging, writes into it, and is killed.
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  if (child == 0) {
    fs::StagingDir s(t / "tmp", "pull-dead");
    fs::write_file(s.path() + "/rootfs.ext4", std::string(1 << 20, 'x'));
    (void)!write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // The live owner: this process.
  fs::StagingDir live(t / "tmp", "pull-live");
  fs::write_file(live.path() + "/rootfs.ext4", std::string(1 << 20, 'y'));

  // Within the grace even a dead owner's dir is left alone.
  CHECK(store::dead_staging(t / "tmp").empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto dead = store::dead_staging(t / "tmp", std::chrono::seconds(0));
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].path.find("/.pull-dead-") != std::string::npos);
  CHECK(dead[0].bytes >= (1u << 20));
  CHECK(store::reclaim_staging(t / "tmp", std::chrono::seconds(0)) == dead[0].bytes);
  CHECK_FALSE(fs::exists(dead[0].path));
  CHECK(fs::exists(live.path() + "/rootfs.ext4"));

  // Released just before publishing: the lock does not travel with the dir.
  live.release();
  CHECK_FALSE(fs::exists(live.path() + "/" + fs::kStagingLock));
}

TEST_CASE("staging: a dir that is not a locked staging dir is not judged, whatever its age", "[store]") {
  test::TempDir t;
  fs::make_dirs(t / "tmp/.workspace-abc");
  fs::make_dirs(t / "tmp/.pull-old-abc");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  // Only a pull's or import's dir from before owners locked them, and only
  // after an hour untouched.
  CHECK(store::dead_staging(t / "tmp", std::chrono::seconds(0)).empty());
  struct timespec old[2] = {{time(nullptr) - 7200, 0}, {time(nullptr) - 7200, 0}};
  REQUIRE(utimensat(AT_FDCWD, (t / "tmp/.pull-old-abc").c_str(), old, 0) == 0);
  REQUIRE(utimensat(AT_FDCWD, (t / "tmp/.workspace-abc").c_str(), old, 0) == 0);
  auto dead = store::dead_staging(t / "tmp", std::chrono::seconds(0));
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].path == t / "tmp/.pull-old-abc");
}
