// Reclaiming staging directories ($BANGER_HOME/tmp/.PREFIX-XXXXXX, made by
// fs::StagingDir, host/core/staging_dir.h) whose owner died (kill -9, power
// loss): by the next pull, by every VM command's reconcile, and by `banger
// doctor --repair`. A live owner's lock file tells its work apart.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace banger::store {

// An owner creates its lock within microseconds of its directory: younger
// dirs are never judged.
inline constexpr std::chrono::seconds kStagingGrace{3};

struct Leftover {
  std::string path;
  unsigned long long bytes = 0;  // disk blocks in use, not apparent size
};

// Staging dirs in `parent` whose owner is gone: their lock is older than
// `grace` (its owner may be taking it right now) and free; or a pull's or
// kernel import's dir from before owners locked them, untouched for an hour.
std::vector<Leftover> dead_staging(const std::string& parent, std::chrono::seconds grace = kStagingGrace);

// `.partial` blobs in `blob_dir` that no download is writing (their lock is
// free): what an interrupted pull leaves to resume from.
std::vector<Leftover> idle_partials(const std::string& blob_dir);

// Removes dead_staging(parent); returns the bytes freed.
unsigned long long reclaim_staging(const std::string& parent, std::chrono::seconds grace = kStagingGrace);

// Disk blocks used by a file or a tree (a sparse image counts what it holds).
unsigned long long disk_usage(const std::string& path);

}  // namespace banger::store
