// A staging directory: where work is built before one rename publishes it.
// PARENT/.PREFIX-XXXXXX (0700) holds a lock file for its owner's life, so the
// staging of a process that died (kill -9, power loss) is told apart from live
// work and reclaimed (host/store/staging.h does the reclaiming).
#pragma once

#include <memory>
#include <string>

namespace banger {
class FileLock;
}

namespace banger::fs {

// The lock file inside a staging dir.
inline constexpr const char* kStagingLock = ".owner.lock";

class StagingDir {
 public:
  // What becomes of the directory when the object goes without release():
  // removed (C++ owners: an error unwinds through here), or kept for its
  // owner to remove (a Lua recipe's handle, whose garbage collection comes
  // at no set time).
  enum class OnExit { remove, keep };

  StagingDir(const std::string& parent, const std::string& prefix, OnExit on_exit = OnExit::remove);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::string& path() const { return path_; }
  // Just before the directory is published (renamed into place): unlinks
  // the lock file, so it does not go with it, releases the lock, and leaves
  // the directory alone from then on.
  void release();
  // Publishes the directory as `dest` with one rename (release() first). If
  // the rename fails, the directory is still this object's to clean up.
  void publish(const std::string& dest);

 private:
  std::string path_;
  std::unique_ptr<FileLock> lock_;
  OnExit on_exit_;
};

}  // namespace banger::fs
