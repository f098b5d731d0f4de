// A copied tree as a stream of entries, and what consumes one: the shape
// every `vm cp` of a directory has, whichever side the tree comes from
// (a guest's tar stream, a user's tar on stdin, a host directory) and
// wherever it goes (a host directory, a tar on stdout, a guest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace banger::copy {

struct TreeEntry {
  enum class Type { dir, file, symlink };
  Type type = Type::file;
  std::string path;   // clean and relative to the copied root; "" is the root itself
  uint32_t mode = 0;  // permission bits (07777) as the source has them
  int64_t mtime = 0;  // seconds
  uint64_t size = 0;  // a file: the bytes write() will pass, exactly
  std::string link;   // a symlink's target, never followed
};

// Takes entries in order (a directory before what is in it), a file's bytes
// through write() after its add(). finish() says the stream was whole; a
// sink destroyed without it leaves nothing behind that it can take back.
class TreeSink {
 public:
  virtual ~TreeSink() = default;
  virtual void add(const TreeEntry& e) = 0;
  virtual void write(std::string_view data) = 0;
  virtual void finish() = 0;
};

// Bounds on what an untrusted stream may make.
inline constexpr uint64_t kMaxTreeEntries = 1'000'000;

}  // namespace banger::copy
