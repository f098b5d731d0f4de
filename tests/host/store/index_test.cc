#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/store/index.h"
#include "tests/support/temp_dir.h"

using namespace banger;

TEST_CASE("index: records round-trip and names are unique per kind", "[store]") {
  test::TempDir t;
  store::Index idx(t / "index.db");
  CHECK(idx.schema_version() == store::Index::kSchemaVersion);
  idx.insert("image", "debian", {{"ref", "debian:bookworm"}});
  auto r = idx.get("image", "debian");
  REQUIRE(r);
  CHECK((*r)["ref"] == "debian:bookworm");
  CHECK((*r)["name"] == "debian");
  idx.insert("kernel", "debian", {});  // another kind, same name: fine
  try {
    idx.insert("image", "debian", {});
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::conflict);
    CHECK(e.message() == "image 'debian' already exists");
  }
  CHECK(idx.list("image").size() == 1);
  CHECK(idx.remove("image", "debian"));
  CHECK_FALSE(idx.remove("image", "debian"));
}

TEST_CASE("index: uses WAL mode so readers do not block the writer", "[store]") {
  test::TempDir t;
  store::Index idx(t / "index.db");
  CHECK(fs::exists(t / "index.db-wal"));
}

TEST_CASE("index: publish renames the staging dir and records it - a second publish of the name loses",
          "[store]") {
  test::TempDir t;
  store::Index idx(t / "index.db");
  fs::make_dirs(t / "stage1");
  fs::make_dirs(t / "stage2");
  idx.publish("image", "x", t / "stage1", t / "final", {{"size", 1}});
  CHECK(fs::exists(t / "final"));
  CHECK_FALSE(fs::exists(t / "stage1"));
  CHECK_THROWS_AS(idx.publish("image", "x", t / "stage2", t / "final", {}), Error);
  CHECK(fs::exists(t / "stage2"));  // the loser's staging dir is its caller's to remove
}

TEST_CASE("index: racing publishes of one name from many processes have exactly one winner", "[store]") {
  test::TempDir t;
  { store::Index init(t / "index.db"); }
  constexpr int kProcs = 6;
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; i++) {
    std::string stage = t / ("stage" + std::to_string(i));
    fs::make_dirs(stage);
    pid_t pid = fork();
    if (pid == 0) {
      try {
        store::Index idx(t / "index.db");
        idx.publish("image", "same", stage, t / "final", {{"winner", i}});
        _exit(0);
      } catch (const Error& e) {
        _exit(e.kind() == ErrorKind::conflict ? 1 : 2);
      }
    }
    pids.push_back(pid);
  }
  int winners = 0, losers = 0;
  for (pid_t p : pids) {
    int st;
    waitpid(p, &st, 0);
    if (WEXITSTATUS(st) == 0) winners++;
    if (WEXITSTATUS(st) == 1) losers++;
  }
  CHECK(winners == 1);
  CHECK(losers == kProcs - 1);
}

TEST_CASE("index: processes opening a new index at once all get it (the switch to WAL waits its turn)",
          "[store]") {
  // SQLite runs no busy handler for the switch to WAL: without a retry, a
  // process that opened a new index beside another failed with "database
  // is locked" (CI saw it as a racing pull with no exit code of its kind).
  constexpr int kProcs = 8, kRounds = 10;
  int failed = 0;
  for (int round = 0; round < kRounds; round++) {
    test::TempDir t;
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < kProcs; i++) {
      pid_t pid = fork();
      if (pid == 0) {
        ::close(gate[1]);
        char c;
        (void)!::read(gate[0], &c, 1);  // all start when the gate closes
        try {
          store::Index idx(t / "index.db");
          idx.insert("image", "i" + std::to_string(i), {});
          _exit(0);
        } catch (const Error&) {
          _exit(1);
        }
      }
      pids.push_back(pid);
    }
    ::close(gate[0]);
    ::close(gate[1]);
    int ok = 0;
    for (pid_t p : pids) {
      int st;
      waitpid(p, &st, 0);
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
    }
    failed += kProcs - ok;
    store::Index idx(t / "index.db");
    CHECK(idx.list("image").size() == static_cast<size_t>(ok));
  }
  CHECK(failed == 0);
}

TEST_CASE("index: addresses are the lowest free ones and are released with the record", "[store]") {
  test::TempDir t;
  store::Index idx(t / "index.db");
  CHECK(idx.insert_with_address("vm", "a", {}, 2, 4) == 2);
  CHECK(idx.insert_with_address("vm", "b", {}, 2, 4) == 3);
  CHECK(idx.insert_with_address("vm", "c", {}, 2, 4) == 4);
  try {
    idx.insert_with_address("vm", "d", {}, 2, 4);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.message() == "no free address for vm 'd' (all 3 are in use)");
  }
  CHECK_FALSE(idx.get("vm", "d"));  // the failed insert left nothing behind
  idx.remove("vm", "b");
  CHECK(idx.insert_with_address("vm", "e", {}, 2, 4) == 3);
  CHECK(idx.address_of("e") == 3);
}

TEST_CASE("index: a database from a newer banger is refused", "[store]") {
  test::TempDir t;
  { store::Index idx(t / "index.db"); }
  {
    sqlite3* db;
    sqlite3_open((t / "index.db").c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  try {
    store::Index idx(t / "index.db");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::unsupported);
    CHECK(e.hint() == "upgrade banger, or point BANGER_HOME at another directory");
  }
}

TEST_CASE("index: the database and its WAL are created 0600 whatever the umask", "[store]") {
  test::TempDir t;
  mode_t old = umask(022);
  store::Index idx(t / "index.db");
  idx.insert("image", "x", {});
  umask(old);
  for (const char* f : {"index.db", "index.db-wal", "index.db-shm"}) {
    INFO(f);
    struct stat st {};
    REQUIRE(stat((t / f).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
}

TEST_CASE("index: every record with a dir keeps a copy of itself there for a rebuild", "[store]") {
  test::TempDir t;
  store::Index idx(t / "index.db");
  fs::make_dirs(t / "stage");
  idx.publish("image", "x", t / "stage", t / "images-x", {{"dir", t / "images-x"}, {"size", 5}});
  auto j = nlohmann::json::parse(fs::read_file(t / "images-x/record.json"));
  CHECK(j["kind"] == "image");
  CHECK(j["name"] == "x");
  CHECK(j["size"] == 5);
  idx.update("image", "x", {{"dir", t / "images-x"}, {"size", 6}});
  CHECK(nlohmann::json::parse(fs::read_file(t / "images-x/record.json"))["size"] == 6);
}
