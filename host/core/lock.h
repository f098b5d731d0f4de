// Advisory file locks (flock) for work that must not run twice at once,
// such as pulling the same blob or starting the same VM. Released on scope
// exit or when the process dies.
#pragma once

#include <string>

namespace banger {

class FileLock {
 public:
  // Blocks until the lock is held (polling Ctrl-C). With `wait` false, throws
  // a conflict error naming `what` when another process holds it.
  FileLock(const std::string& path, const std::string& what, bool wait = true);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace banger
