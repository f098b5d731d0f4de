#include "host/ext4/data_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/core/error.h"

namespace banger::ext4 {

DataSink::DataSink(int fd, std::string path, size_t capacity)
    : fd_(fd), path_(std::move(path)), buf_(capacity) {}

void DataSink::start(uint64_t offset) {
  if (used_ && (offset != start_ + used_ || used_ == buf_.size())) flush();
  if (!used_) start_ = offset;
}

void DataSink::write(uint64_t offset, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len) {
    start(offset);
    // A large write with an empty buffer goes straight to the file.
    if (!used_ && len >= buf_.size()) {
      size_t n = len - len % buf_.size();
      for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(fd_, p + done, n - done, static_cast<off_t>(offset + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fail_errno("writing " + path_);
        done += static_cast<size_t>(w);
      }
      p += n, offset += n, len -= n;
      continue;
    }
    size_t n = std::min(len, buf_.size() - used_);
    std::memcpy(buf_.data() + used_, p, n);
    used_ += n;
    p += n, offset += n, len -= n;
  }
}

void DataSink::zero(uint64_t offset, size_t len) {
  static const char zeros[4096] = {};
  while (len) {
    size_t n = std::min(len, sizeof(zeros));
    write(offset, zeros, n);
    offset += n, len -= n;
  }
}

void DataSink::flush() {
  for (size_t done = 0; done < used_;) {
    ssize_t w = pwrite(fd_, buf_.data() + done, used_ - done, static_cast<off_t>(start_ + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail_errno("writing " + path_);
    done += static_cast<size_t>(w);
  }
  used_ = 0;
}

}  // namespace banger::ext4
