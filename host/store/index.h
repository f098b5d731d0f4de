// The state index: one SQLite database (WAL) holding every image, kernel and
// VM as a record {kind, name, data (JSON)}. Name uniqueness and address
// allocation are constraints and transactions here, so several banger
// processes can act at once.
#pragma once

#include <sqlite3.h>

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace banger::store {

using Json = nlohmann::json;

// Every record that has a "dir" keeps a copy of itself there (DIR/record.json,
// kind and name included), so a lost or damaged index can be rebuilt.
inline constexpr const char* kRecordFile = "record.json";
inline constexpr const char* kRepairHint =
    "'banger doctor --repair' rebuilds the index from the state directories (images/, kernels/, vms/)";

class Index {
 public:
  // Opens (creating and migrating as needed) the database at `path`.
  explicit Index(const std::string& path);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  static constexpr int kSchemaVersion = 1;
  int schema_version();
  // SQLite's quick_check: "ok", or what is wrong.
  std::string quick_check();

  // A record's data gets "name", "kind" and "created" added when read.
  std::optional<Json> get(const std::string& kind, const std::string& name);
  std::vector<Json> list(const std::string& kind);
  // Conflict error ("image 'x' already exists") when the name is taken.
  void insert(const std::string& kind, const std::string& name, const Json& data);
  // Not-found error when there is no such record.
  void update(const std::string& kind, const std::string& name, const Json& data);
  // Returns false when there was no such record.
  bool remove(const std::string& kind, const std::string& name);

  // Publishes atomically: in one write transaction, checks the name is free,
  // renames `staging_dir` to `final_dir` and inserts the record. Exactly one
  // of two racing publishes of a name wins; the loser gets a conflict error
  // and its staging dir is left for its caller to remove. An existing
  // `final_dir` without a record (an orphan) is a conflict too.
  void publish(const std::string& kind, const std::string& name, const std::string& staging_dir,
               const std::string& final_dir, const Json& data);

  // Inserts a record and reserves the lowest free address in [first, last]
  // for it, in one transaction. Returns the address. Conflict when the name
  // is taken, a resource error ("no free address") when the pool is full.
  long long insert_with_address(const std::string& kind, const std::string& name, const Json& data,
                                long long first, long long last);
  // Frees the address held by `name` (no-op when none).
  void release_address(const std::string& name);
  std::optional<long long> address_of(const std::string& name);

 private:
  void exec(const char* sql);
  void use_wal();
  void migrate();
  void begin_immediate();
  void commit();
  void rollback();
  [[noreturn]] void fail_sqlite(const std::string& what);

  sqlite3* db_ = nullptr;
  std::string path_;
};

// The index of this process, opened on first use at paths::index_db().
// A missing or empty index beside images, kernels or VMs in the state dirs
// is refused (opening it would silently orphan them), with kRepairHint.
Index& default_index();

}  // namespace banger::store
