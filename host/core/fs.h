// Small filesystem helpers with banger's error conventions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace banger::fs {

std::string read_file(const std::string& path);
// Like read_file, but stops once the file passes `max_bytes`: nullopt then,
// so a hostile or broken file cannot make the reader buffer without bound.
std::optional<std::string> read_file_limited(const std::string& path, size_t max_bytes);
void write_file(const std::string& path, std::string_view data, int mode = 0644);
// Writes to PATH.tmp-XXXX, fsyncs, renames over PATH.
void write_file_atomic(const std::string& path, std::string_view data, int mode = 0644);
bool exists(const std::string& path);
// mkdir -p; newly made directories get `mode`.
void make_dirs(const std::string& path, int mode = 0700);
// rm -rf that never follows symlinks; a missing path is fine.
void remove_all(const std::string& path);
// A fresh directory PARENT/.PREFIX-XXXXXX (mode 0700).
std::string make_temp_dir(const std::string& parent, const std::string& prefix);
// Free bytes on the filesystem holding `path`.
unsigned long long free_bytes(const std::string& path);

// A staging directory removed on scope exit unless release()d: what makes
// publishing atomic (build inside, rename into place, then release()).
class StagingDir {
 public:
  StagingDir(const std::string& parent, const std::string& prefix);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace banger::fs
