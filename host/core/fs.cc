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

std::string read_file(const std::string& path) {
  return *read_file_limited(path, std::string().max_size());
}

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
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("writing " + tmp);
  try {
    write_all(fd, data, tmp);
    if (fsync(fd) != 0) fail_errno("fsync " + tmp);
  } catch (...) {
    close(fd);
    unlink(tmp.c_str());
    throw;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    fail_errno("renaming " + tmp + " to " + path);
  }
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

StagingDir::StagingDir(const std::string& parent, const std::string& prefix)
    : path_(make_temp_dir(parent, prefix)) {}

StagingDir::~StagingDir() {
  if (path_.empty()) return;
  std::error_code ec;
  stdfs::remove_all(path_, ec);
}

}  // namespace banger::fs
