#include "host/copy/walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "host/core/error.h"

namespace banger::copy {

namespace {

void emit_file(const std::string& path, TreeEntry& t, TreeSink& sink) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail_errno("reading " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorKind::io, path + " changed while it was copied", "copy it again");
  }
  t.size = static_cast<uint64_t>(st.st_size);
  try {
    sink.add(t);
    char buf[64 * 1024];
    uint64_t left = t.size;
    while (left > 0) {
      ssize_t n = ::read(fd, buf, std::min<uint64_t>(sizeof buf, left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("reading " + path);
      if (n == 0) fail(ErrorKind::io, path + " shrank while it was copied", "copy it again");
      sink.write(std::string_view(buf, static_cast<size_t>(n)));
      left -= static_cast<uint64_t>(n);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void walk(const std::string& path, const std::string& rel, const struct stat& st, TreeSink& sink) {
  TreeEntry t;
  t.path = rel;
  t.mode = st.st_mode & 07777;
  t.mtime = st.st_mtim.tv_sec;
  if (S_ISREG(st.st_mode)) {
    t.type = TreeEntry::Type::file;
    emit_file(path, t, sink);
  } else if (S_ISLNK(st.st_mode)) {
    t.type = TreeEntry::Type::symlink;
    std::string link(4096, '\0');
    ssize_t n = ::readlink(path.c_str(), link.data(), link.size());
    if (n < 0) fail_errno("reading the symlink " + path);
    link.resize(static_cast<size_t>(n));
    t.link = link;
    sink.add(t);
  } else if (S_ISDIR(st.st_mode)) {
    t.type = TreeEntry::Type::dir;
    sink.add(t);
    DIR* d = ::opendir(path.c_str());
    if (!d) fail_errno("reading the directory " + path);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      const std::string child = path + "/" + name;
      struct stat cst {};
      if (::lstat(child.c_str(), &cst) != 0) fail_errno("reading " + child);
      walk(child, rel.empty() ? name : rel + "/" + name, cst, sink);
    }
  } else {
    spdlog::warn("skipped {}: not a file, directory or symlink", path);
  }
}

}  // namespace

void walk_tree(const std::string& path, bool follow_root, TreeSink& sink) {
  struct stat st {};
  if ((follow_root ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) {
    if (errno == ENOENT)
      fail(ErrorKind::not_found, "no such file or directory: " + path, "check the path you gave vm cp");
    fail_errno("reading " + path);
  }
  walk(path, "", st, sink);
}

}  // namespace banger::copy
