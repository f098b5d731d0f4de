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
// Writes a fresh file beside PATH (a PendingFile), fsyncs, renames over PATH.
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
// The process's file mode creation mask, read without changing it.
unsigned current_umask();

// A file that will replace `path`: made beside it under a fresh hidden name
// with O_EXCL (so it never opens an existing file, nor follows a symlink
// someone planted), then published by renaming over `path` (which replaces a
// symlink there instead of writing through it). Removed on scope exit unless
// published, so an interrupted write leaves `path` as it was.
class PendingFile {
 public:
  explicit PendingFile(const std::string& path);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  void write(std::string_view data);
  // chmod to `mode` (permission bits only), fsync when asked, rename over path.
  void publish(unsigned mode, bool sync);
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace banger::fs
