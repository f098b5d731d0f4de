#include "host/core/staging_dir.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/lock.h"

namespace banger::fs {

StagingDir::StagingDir(const std::string& parent, const std::string& prefix, OnExit on_exit)
    : path_(make_temp_dir(parent, prefix)), on_exit_(on_exit) {
  try {
    lock_ = std::make_unique<FileLock>(path_ + "/" + kStagingLock, "staging directory " + path_, false);
  } catch (...) {
    remove_all(path_);
    throw;
  }
}

StagingDir::~StagingDir() {
  if (!lock_ || on_exit_ == OnExit::keep) return;
  std::error_code ec;  // a destructor does not throw: what stays is reclaimed later
  std::filesystem::remove_all(path_, ec);
}

void StagingDir::release() {
  if (!lock_) return;
  ::unlink((path_ + "/" + kStagingLock).c_str());
  lock_.reset();
}

void StagingDir::publish(const std::string& dest) {
  ::unlink((path_ + "/" + kStagingLock).c_str());
  if (::rename(path_.c_str(), dest.c_str()) != 0) fail_errno("publishing " + path_ + " as " + dest);
  lock_.reset();
}

}  // namespace banger::fs
