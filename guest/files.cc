#include "guest/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace banger::agent {

bool begin_upload(const proto::FilePut& req, Upload& up, std::string& error) {
  if (req.path.empty() || req.path[0] != '/') {
    error = "copying to '" + req.path + "': the guest path must be absolute";
    return false;
  }
  struct stat st {};
  if (stat(req.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    error = "copying to " + req.path + ": it is a directory";
    return false;
  }
  up.req = req;
  up.path = req.path;
  up.tmp = req.path + ".banger-XXXXXX";
  up.fd = mkostemp(up.tmp.data(), O_CLOEXEC);
  if (up.fd < 0) {
    error = "copying to " + req.path + ": " + strerror(errno);
    return false;
  }
  return true;
}

bool write_upload(Upload& up, const std::string& data, std::string& error) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(up.fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "copying to " + up.path + ": " + strerror(errno);
      return false;
    }
    off += n;
  }
  up.received += data.size();
  return true;
}

bool finish_upload(Upload& up, std::string& error) {
  if (up.received != up.req.size) {
    error = "copying to " + up.path + ": got " + std::to_string(up.received) + " of " +
            std::to_string(up.req.size) + " bytes";
    return false;
  }
  if (fchown(up.fd, up.req.uid, up.req.gid) != 0 || fchmod(up.fd, up.req.mode & 07777) != 0) {
    error = "copying to " + up.path + ": setting owner and mode: " + strerror(errno);
    return false;
  }
  close(up.fd);
  up.fd = -1;
  if (rename(up.tmp.c_str(), up.path.c_str()) != 0) {
    error = "copying to " + up.path + ": " + strerror(errno);
    unlink(up.tmp.c_str());
    return false;
  }
  return true;
}

void abort_upload(Upload& up) {
  if (up.fd >= 0) {
    close(up.fd);
    up.fd = -1;
    unlink(up.tmp.c_str());
  }
}

bool begin_download(const std::string& path, Download& d, proto::FileInfo& info, std::string& error) {
  d.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (d.fd < 0) {
    error = "copying " + path + ": " + strerror(errno);
    return false;
  }
  struct stat st {};
  fstat(d.fd, &st);
  if (!S_ISREG(st.st_mode)) {
    close(d.fd);
    d.fd = -1;
    error = "copying " + path + ": not a regular file";
    return false;
  }
  d.size = st.st_size;
  info.size = st.st_size;
  info.mode = st.st_mode;
  return true;
}

}  // namespace banger::agent
