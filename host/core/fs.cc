#include "host/core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "host/core/error.h"

namespace banger::fs {

namespace stdfs = std::filesystem;

std::optional<std::string> read_file_limited(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("reading " + path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      fail_errno("reading " + path);
    }
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > max_bytes) {
      close(fd);
      return std::nullopt;
    }
  }
  close(fd);
  return out;
}

std::string read_file(const std::string& path) { return *read_file_limited(path, std::string().max_size()); }

static void write_all(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("writing " + path);
    }
    off += n;
  }
}

void write_file(const std::string& path, std::string_view data, int mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("writing " + path);
  try {
    write_all(fd, data, path);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
}

void write_file_atomic(const std::string& path, std::string_view data, int mode) {
  PendingFile f(path);
  f.write(data);
  f.publish(mode, true);
}

PendingFile::PendingFile(const std::string& path) : path_(path) {
  stdfs::path p(path);
  std::string dir = p.parent_path().string();
  tmp_ = (dir.empty() ? "" : dir + "/") + "." + p.filename().string() + ".banger-XXXXXX";
  // mkostemp opens with O_CREAT|O_EXCL and mode 0600.
  fd_ = mkostemp(tmp_.data(), O_CLOEXEC);
  if (fd_ < 0) fail_errno("writing " + path);
}

PendingFile::~PendingFile() {
  if (fd_ >= 0) close(fd_);
  if (!tmp_.empty()) unlink(tmp_.c_str());
}

void PendingFile::write(std::string_view data) { write_all(fd_, data, path_); }

void PendingFile::publish(unsigned mode, bool sync) {
  if (fchmod(fd_, mode & 0777) != 0) fail_errno("setting the mode of " + path_);
  if (sync && fsync(fd_) != 0) fail_errno("fsync " + path_);
  if (close(fd_) != 0) {
    fd_ = -1;
    fail_errno("writing " + path_);
  }
  fd_ = -1;
  if (rename(tmp_.c_str(), path_.c_str()) != 0) fail_errno("writing " + path_);
  tmp_.clear();
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path, int mode) {
  if (path.empty()) return;
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail(ErrorKind::io, "not a directory: " + path);
    return;
  }
  auto parent = stdfs::path(path).parent_path().string();
  if (!parent.empty() && parent != path) make_dirs(parent, mode);
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) fail_errno("creating directory " + path);
  chmod(path.c_str(), mode);
}

void remove_all(const std::string& path) {
  std::error_code ec;
  stdfs::remove_all(path, ec);  // does not follow symlinks
  if (ec && ec != std::errc::no_such_file_or_directory)
    fail(ErrorKind::io, "removing " + path + ": " + ec.message());
}

std::string make_temp_dir(const std::string& parent, const std::string& prefix) {
  make_dirs(parent);
  std::string tmpl = parent + "/." + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) fail_errno("creating a temporary directory in " + parent);
  return tmpl;
}

unsigned long long free_bytes(const std::string& path) {
  struct statvfs s;
  if (statvfs(path.c_str(), &s) != 0) fail_errno("statvfs " + path);
  return static_cast<unsigned long long>(s.f_bavail) * s.f_frsize;
}

unsigned current_umask() {
  // /proc/self/status says it without the set-and-restore race of umask(2).
  if (auto status = read_file_limited("/proc/self/status", 1 << 16)) {
    auto at = status->find("\nUmask:");
    if (at != std::string::npos) return std::stoul(status->substr(at + 7), nullptr, 8) & 0777;
  }
  mode_t m = umask(022);
  umask(m);
  return m & 0777;
}

}  // namespace banger::fs
