#include "host/core/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "host/core/error.h"
#include "host/core/interrupt.h"

namespace banger {

FileLock::FileLock(const std::string& path, const std::string& what, bool wait) {
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) fail_errno("opening lock " + path);
  for (;;) {
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      // The holder may have unlinked the file before releasing it (a removed
      // VM's lock): a lock on that inode guards nothing, so take the new one.
      struct stat held {
      }, now{};
      if (fstat(fd_, &held) == 0 && stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
          held.st_dev == now.st_dev)
        return;
      close(fd_);
      fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd_ < 0) fail_errno("opening lock " + path);
      continue;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      close(fd_);
      fail_errno("locking " + path);
    }
    if (!wait) {
      close(fd_);
      fail(ErrorKind::conflict, what + " is busy: another banger process is working on it",
           "wait for it to finish and try again");
    }
    if (interrupted()) {
      close(fd_);
      check_interrupted();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace banger
