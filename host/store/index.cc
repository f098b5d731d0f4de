#include "host/store/index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/paths.h"
#include "host/store/repair.h"

namespace banger::store {

namespace {

bool damaged_code(int rc) { return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB; }

// A damaged database file is the user's to repair, not a bug: say how.
[[noreturn]] void fail_damaged(const std::string& path, const std::string& detail) {
  fail(ErrorKind::io, "the state index " + path + " is damaged (" + detail + ")", kRepairHint);
}

// One statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) {
      if (damaged_code(sqlite3_errcode(db)))
        fail_damaged(sqlite3_db_filename(db, "main"), sqlite3_errmsg(db));
      fail(ErrorKind::internal, std::string("state index: ") + sqlite3_errmsg(db));
    }
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt& bind(int i, const std::string& s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, long long v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code the caller reports.
  int step() { return sqlite3_step(st_); }
  std::string text(int col) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string(p, sqlite3_column_bytes(st_, col)) : std::string();
  }
  long long integer(int col) { return sqlite3_column_int64(st_, col); }
  bool is_null(int col) { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* st_ = nullptr;
};

Json row_record(const std::string& kind, const std::string& name, const std::string& data,
                long long created) {
  Json j = Json::parse(data, nullptr, false);
  if (!j.is_object()) j = Json::object();
  j["kind"] = kind;
  j["name"] = name;
  j["created"] = created;
  return j;
}

}  // namespace

Index::Index(const std::string& path) : path_(path) {
  // Created 0600 here (SQLite would follow the umask); its -wal and -shm
  // files take the database's mode.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)::fchmod(fd, 0600);
    ::close(fd);
  }
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(ErrorKind::io, "opening the state index " + path + ": " + msg, "check that BANGER_HOME is writable");
  }
  // A constructor that throws runs no destructor: close the database here.
  try {
    sqlite3_busy_timeout(db_, 30000);
    use_wal();
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Index::~Index() { sqlite3_close(db_); }

void Index::fail_sqlite(const std::string& what) {
  int rc = sqlite3_errcode(db_);
  if (damaged_code(rc)) fail_damaged(path_, sqlite3_errmsg(db_));
  ErrorKind kind = (rc == SQLITE_FULL)   ? ErrorKind::io
                   : (rc == SQLITE_BUSY) ? ErrorKind::conflict
                                         : ErrorKind::io;
  fail(kind, "state index " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

// The switch to WAL needs the database to itself, and SQLite runs no busy
// handler for it: processes opening a new index at once would fail here
// ("database is locked"). WAL stays set in the file, so only the first
// opens switch; they retry within the busy timeout.
void Index::use_wal() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    {
      Stmt s(db_, "PRAGMA journal_mode");
      if (s.step() == SQLITE_ROW && s.text(0) == "wal") return;
    }
    int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    // Anything but a busy database (or one busy for too long) is an error.
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > deadline)
      exec("PRAGMA journal_mode=WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Index::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    if (damaged_code(sqlite3_errcode(db_))) fail_damaged(path_, msg);
    fail(ErrorKind::io, "state index " + path_ + ": " + msg);
  }
}

void Index::begin_immediate() { exec("BEGIN IMMEDIATE"); }
void Index::commit() { exec("COMMIT"); }
void Index::rollback() { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

std::string Index::quick_check() {
  Stmt s(db_, "PRAGMA quick_check");
  std::string out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out += (out.empty() ? "" : "; ") + s.text(0);
  if (rc != SQLITE_DONE) return sqlite3_errmsg(db_);
  return out;
}

int Index::schema_version() {
  Stmt s(db_, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}

// Schema versions: each step moves user_version from N-1 to N. A database
// from a newer banger is refused rather than guessed at.
void Index::migrate() {
  begin_immediate();
  try {
    int v = schema_version();
    if (v > kSchemaVersion)
      fail(ErrorKind::unsupported,
           "the state index " + path_ + " has schema version " + std::to_string(v) +
               ", newer than this banger (" + std::to_string(kSchemaVersion) + ")",
           "upgrade banger, or point BANGER_HOME at another directory");
    if (v < 1) {
      exec(
          "CREATE TABLE records ("
          "  kind TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,"
          "  created INTEGER NOT NULL, PRIMARY KEY (kind, name));"
          "CREATE TABLE addresses ("
          "  address INTEGER PRIMARY KEY, owner TEXT NOT NULL UNIQUE);"
          "PRAGMA user_version = 1;");
    }
    commit();
  } catch (...) {
    rollback();
    throw;
  }
}

std::optional<Json> Index::get(const std::string& kind, const std::string& name) {
  Stmt s(db_, "SELECT data, created FROM records WHERE kind = ?1 AND name = ?2");
  s.bind(1, kind).bind(2, name);
  int rc = s.step();
  if (rc == SQLITE_ROW) return row_record(kind, name, s.text(0), s.integer(1));
  if (rc != SQLITE_DONE) fail_sqlite("reading " + kind + " " + name);
  return std::nullopt;
}

std::vector<Json> Index::list(const std::string& kind) {
  Stmt s(db_, "SELECT name, data, created FROM records WHERE kind = ?1 ORDER BY name");
  s.bind(1, kind);
  std::vector<Json> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(row_record(kind, s.text(0), s.text(1), s.integer(2)));
  if (rc != SQLITE_DONE) fail_sqlite("listing " + kind + "s");
  return out;
}

static Json stored(const Json& data) {
  Json j = data.is_object() ? data : Json::object();
  j.erase("kind");
  j.erase("name");
  j.erase("created");
  return j;
}

// The record's copy in its own directory: what `doctor --repair` rebuilds a
// lost index from. Best effort: the index stays the truth while it is whole.
static void write_record_file(const std::string& kind, const std::string& name, const Json& data) {
  if (!data.is_object() || !data.contains("dir") || !data["dir"].is_string()) return;
  std::string dir = data["dir"].get<std::string>();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  Json j = stored(data);
  j["kind"] = kind;
  j["name"] = name;
  try {
    fs::write_file_atomic(dir + "/" + kRecordFile, j.dump(2) + "\n", 0600);
  } catch (const Error&) {
  }
}

void Index::insert(const std::string& kind, const std::string& name, const Json& data) {
  Stmt s(db_, "INSERT INTO records (kind, name, data, created) VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, kind).bind(2, name).bind(3, stored(data).dump()).bind(4, static_cast<long long>(time(nullptr)));
  if (s.step() != SQLITE_DONE) {
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY)
      fail(ErrorKind::conflict, kind + " '" + name + "' already exists",
           "choose another name, or remove it with 'banger " + kind + " rm " + name + "'");
    fail_sqlite("adding " + kind + " " + name);
  }
  write_record_file(kind, name, data);
}

void Index::update(const std::string& kind, const std::string& name, const Json& data) {
  Stmt s(db_, "UPDATE records SET data = ?3 WHERE kind = ?1 AND name = ?2");
  s.bind(1, kind).bind(2, name).bind(3, stored(data).dump());
  if (s.step() != SQLITE_DONE) fail_sqlite("updating " + kind + " " + name);
  if (sqlite3_changes(db_) == 0) fail(ErrorKind::not_found, "no " + kind + " named '" + name + "'");
  write_record_file(kind, name, data);
}

bool Index::remove(const std::string& kind, const std::string& name) {
  Stmt s(db_, "DELETE FROM records WHERE kind = ?1 AND name = ?2");
  s.bind(1, kind).bind(2, name);
  if (s.step() != SQLITE_DONE) fail_sqlite("removing " + kind + " " + name);
  bool removed = sqlite3_changes(db_) > 0;
  release_address(name);
  return removed;
}

void Index::publish(const std::string& kind, const std::string& name, const std::string& staging_dir,
                    const std::string& final_dir, const Json& data) {
  begin_immediate();
  bool renamed = false;
  try {
    if (get(kind, name))
      fail(ErrorKind::conflict, kind + " '" + name + "' already exists",
           "choose another name with --name, or remove it with 'banger " + kind + " rm " + name + "'");
    // A directory without a record: a crash between rename and commit, or a
    // lost index. Either way it is a whole image the user may want back, so
    // it is never overwritten without a word.
    if (fs::exists(final_dir))
      fail(ErrorKind::conflict,
           kind + " '" + name + "': " + final_dir + " exists but the index has no record of it",
           "'banger doctor --repair' adds it back to the index; or remove that directory");
    if (rename(staging_dir.c_str(), final_dir.c_str()) != 0) fail_errno("publishing " + final_dir);
    renamed = true;
    insert(kind, name, data);
    commit();
  } catch (...) {
    rollback();
    if (renamed) rename(final_dir.c_str(), staging_dir.c_str());
    throw;
  }
}

long long Index::insert_with_address(const std::string& kind, const std::string& name, const Json& data,
                                     long long first, long long last) {
  begin_immediate();
  try {
    insert(kind, name, data);
    // The lowest free address: the first in the pool, or one past a taken one.
    Stmt s(db_,
           "SELECT MIN(candidate) FROM ("
           "  SELECT ?1 AS candidate WHERE NOT EXISTS (SELECT 1 FROM addresses WHERE address = ?1)"
           "  UNION ALL SELECT address + 1 FROM addresses"
           "  WHERE address + 1 BETWEEN ?1 AND ?2"
           "    AND NOT EXISTS (SELECT 1 FROM addresses a2 WHERE a2.address = addresses.address + 1))");
    s.bind(1, first).bind(2, last);
    if (s.step() != SQLITE_ROW) fail_sqlite("reserving an address for " + name);
    if (s.is_null(0))
      fail(ErrorKind::conflict,
           "no free address for " + kind + " '" + name + "' (all " + std::to_string(last - first + 1) +
               " are in use)",
           "remove VMs you no longer need ('banger vm ls', 'banger vm rm NAME')");
    long long addr = s.integer(0);
    Stmt ins(db_, "INSERT INTO addresses (address, owner) VALUES (?1, ?2)");
    ins.bind(1, addr).bind(2, name);
    if (ins.step() != SQLITE_DONE) fail_sqlite("reserving an address for " + name);
    commit();
    return addr;
  } catch (...) {
    rollback();
    throw;
  }
}

void Index::release_address(const std::string& name) {
  Stmt s(db_, "DELETE FROM addresses WHERE owner = ?1");
  s.bind(1, name);
  if (s.step() != SQLITE_DONE) fail_sqlite("releasing the address of " + name);
}

std::optional<long long> Index::address_of(const std::string& name) {
  Stmt s(db_, "SELECT address FROM addresses WHERE owner = ?1");
  s.bind(1, name);
  if (s.step() == SQLITE_ROW) return s.integer(0);
  return std::nullopt;
}

Index& default_index() {
  static std::mutex mu;
  static std::unique_ptr<Index> index;
  static std::string opened;
  std::lock_guard lock(mu);
  // Re-opened when BANGER_HOME changes (tests run many homes in one process).
  if (!index || opened != paths::index_db()) {
    paths::ensure_layout();
    index.reset();
    // A missing or empty index: fine for a new home; beside images, kernels
    // or VMs it would silently orphan them (and a later pull of a name
    // would meet its old directory).
    if (std::string lost = lost_index(); !lost.empty())
      fail(ErrorKind::io, "the state index " + paths::index_db() + " is " + lost, kRepairHint);
    index = std::make_unique<Index>(paths::index_db());
    opened = paths::index_db();
  }
  return *index;
}

}  // namespace banger::store
