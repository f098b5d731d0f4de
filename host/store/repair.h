// The state index against the state directories: what `banger doctor`
// reports (a damaged index, directories the index does not know, records
// whose directory is gone) and what `banger doctor --repair` does about it.
// The directories are the truth about what exists; each keeps a copy of its
// record (DIR/record.json, see index.h) that a rebuild reads back.
#pragma once

#include <string>
#include <vector>

namespace banger::store {

struct StateDir {
  std::string kind;  // "image", "kernel", "vm"
  std::string name;
  std::string dir;
};

// images/*, kernels/* and vms/* under $BANGER_HOME (dot entries are banger's
// own: staging, locks).
std::vector<StateDir> state_dirs();

// "2 images, 1 kernel and 3 VMs"
std::string describe(const std::vector<StateDir>& dirs);

struct IndexHealth {
  std::string damaged;            // why the index cannot be used; empty when it can
  std::vector<StateDir> orphans;  // directories without a record
  std::vector<StateDir> missing;  // records without a directory
  bool ok() const { return damaged.empty() && orphans.empty() && missing.empty(); }
};

// Why the index is lost ("missing but the state directories hold 2
// images"): no index file (or an empty one) beside state dirs. Empty when
// it is not. Cheap: no database is opened.
std::string lost_index();

// Opens nothing it would create: a missing or empty index with state dirs
// is reported as damaged.
IndexHealth check_index();

// Rebuilds what check_index() found wrong: a damaged index is moved aside
// (index.db.damaged-TIME) and a new one made; every orphan directory is
// recorded again from its record.json (VMs as stopped, at their old address
// when it is free, else at the lowest free one in [first, last]); records
// whose directory is gone are dropped. Returns one line per action.
std::vector<std::string> repair_index(long long first, long long last);

}  // namespace banger::store
