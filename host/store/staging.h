// Staging directories ($BANGER_HOME/tmp/.PREFIX-XXXXXX): where a pull or a
// kernel import builds what it then publishes with one rename. Each holds a
// lock file for its owner's life, so the staging of a process that died
// (kill -9, power loss) is told apart from live work and reclaimed: by the
// next pull, by every VM command's reconcile, and by `banger doctor --repair`.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace banger {
class FileLock;
}

namespace banger::store {

// The lock file inside a staging dir.
inline constexpr const char* kStagingLock = ".owner.lock";
// An owner creates its lock within microseconds of its directory: younger
// dirs are never judged.
inline constexpr std::chrono::seconds kStagingGrace{3};

class Staging {
 public:
  // Creates PARENT/.PREFIX-XXXXXX (0700) and locks it for this process.
  Staging(const std::string& parent, const std::string& prefix);
  // Releases the lock; removing the directory is the owner's cleanup.
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  const std::string& path() const { return path_; }
  // Unlinks the lock file and releases it: just before the directory is
  // published (renamed into place), so the lock does not go with it.
  void release();

 private:
  std::string path_;
  std::unique_ptr<FileLock> lock_;
};

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
