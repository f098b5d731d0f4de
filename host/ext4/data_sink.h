// Write-combining sink for file data: consecutive writes to consecutive
// image offsets are gathered into one large pwrite(2). The ext4 writer lays
// files out back to back, so a layer's data becomes a few big writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace banger::ext4 {

class DataSink {
 public:
  DataSink(int fd, std::string path, size_t capacity = 8u << 20);
  // Writes `len` bytes at byte offset `offset` of the image (buffered).
  void write(uint64_t offset, const void* data, size_t len);
  // Writes `len` zero bytes at `offset` (buffered).
  void zero(uint64_t offset, size_t len);
  void flush();

 private:
  void start(uint64_t offset);
  int fd_;
  std::string path_;
  std::vector<char> buf_;
  size_t used_ = 0;
  uint64_t start_ = 0;
};

}  // namespace banger::ext4
