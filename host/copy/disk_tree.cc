#include "host/copy/disk_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/core/error.h"
#include "host/core/fs.h"

namespace banger::copy {

namespace {

constexpr const char* kRoot = "root";  // the root's name inside the staging directory

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The names in a directory (a descriptor of it stays open for the caller).
std::vector<std::string> names_in(int dir_fd) {
  int fd = ::dup(dir_fd);
  DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (!d) {
    if (fd >= 0) ::close(fd);
    fail_errno("reading a staged directory");
  }
  ::rewinddir(d);  // a dup shares the offset an earlier walk left at the end
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

int open_dir_below(int dir_fd, const std::string& name) {
  return ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// Walks the staged tree `src` against `dst`: with `move` false it only
// checks that no entry would replace a directory with a non-directory (or the
// reverse); with `move` true it renames each staged entry into place, whole
// subtrees where `dst` has nothing.
void merge(int src, int dst, const std::string& shown, bool move) {
  for (const auto& name : names_in(src)) {
    struct stat s {
    }, d{};
    if (::fstatat(src, name.c_str(), &s, AT_SYMLINK_NOFOLLOW) != 0) fail_errno("reading the staged " + name);
    const std::string path = shown + "/" + name;
    bool exists = ::fstatat(dst, name.c_str(), &d, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(s.st_mode) && S_ISDIR(d.st_mode)) {
      int sfd = open_dir_below(src, name), dfd = open_dir_below(dst, name);
      if (sfd < 0 || dfd < 0) {
        if (sfd >= 0) ::close(sfd);
        if (dfd >= 0) ::close(dfd);
        fail_errno("opening " + path);
      }
      try {
        merge(sfd, dfd, path, move);
      } catch (...) {
        ::close(sfd), ::close(dfd);
        throw;
      }
      ::close(sfd), ::close(dfd);
      continue;
    }
    if (exists && S_ISDIR(s.st_mode) != S_ISDIR(d.st_mode)) {
      fail(ErrorKind::conflict,
           S_ISDIR(s.st_mode) ? "cannot overwrite non-directory " + path + " with directory"
                              : "cannot overwrite directory " + path + " with non-directory",
           "move it out of the way, or copy somewhere else");
    }
    if (move && ::renameat(src, name.c_str(), dst, name.c_str()) != 0)
      fail_errno("moving into place " + path);
  }
}

}  // namespace

DiskTree::DiskTree(std::function<std::string(bool)> place, std::string what, std::string sender,
                   std::string hint)
    : place_(std::move(place)),
      what_(std::move(what)),
      sender_(std::move(sender)),
      hint_(std::move(hint)),
      umask_(fs::current_umask()) {}

DiskTree::~DiskTree() {
  if (file_fd_ >= 0) ::close(file_fd_);
  if (stage_fd_ >= 0) ::close(stage_fd_);
  if (!staging_.empty()) fs::remove_all(staging_);
  if (!finished_) {
    for (auto it = made_parents_.rbegin(); it != made_parents_.rend(); ++it) ::rmdir(it->c_str());
  }
}

void DiskTree::bad(const std::string& problem) const {
  fail(ErrorKind::io, what_ + ": " + sender_ + " sent a bad tar stream: " + problem + "; nothing was written",
       hint_);
}

void DiskTree::begin_root(const TreeEntry& e) {
  root_dir_ = e.type == TreeEntry::Type::dir;
  target_ = place_(root_dir_);
  struct stat st {};
  merge_ = root_dir_ && ::stat(target_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  // Missing parents are made (and taken back if the copy fails).
  std::string parent = parent_of(target_);
  std::vector<std::string> missing;
  for (std::string p = parent; !fs::exists(p) && p != "/" && p != "."; p = parent_of(p)) missing.push_back(p);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0777) != 0 && errno != EEXIST) fail_errno(what_ + ": making " + *it);
    made_parents_.push_back(*it);
  }
  staging_ = fs::make_temp_dir(parent, "banger-cp");
  stage_fd_ = ::open(staging_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (stage_fd_ < 0) fail_errno(what_ + ": opening " + staging_);
}

// Opens REL's parent inside the staged root, never through a symlink.
int DiskTree::open_parent(const std::string& rel, std::string& base) const {
  const std::string staged = rel.empty() ? kRoot : std::string(kRoot) + "/" + rel;
  int fd = ::dup(stage_fd_);
  size_t pos = 0;
  for (size_t slash; (slash = staged.find('/', pos)) != std::string::npos; pos = slash + 1) {
    const std::string comp = staged.substr(pos, slash - pos);
    int next = open_dir_below(fd, comp);
    int err = errno;
    struct stat st {};
    // O_NOFOLLOW with O_DIRECTORY says ENOTDIR for a symlink too.
    if (next < 0 && err == ENOTDIR && ::fstatat(fd, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
      err = ELOOP;
    ::close(fd);
    if (next < 0) {
      const std::string dir = "\"" + staged.substr(sizeof "root", slash - sizeof "root") + "\"";
      const std::string entry = "\"" + rel + "\"";
      if (err == ENOENT) bad(entry + " comes before its directory " + dir);
      if (err == ELOOP) bad(entry + " is below the symlink " + dir + ", which a copy never follows");
      if (err == ENOTDIR) bad(entry + " is below " + dir + ", which is not a directory");
      errno = err;
      fail_errno(what_ + ": opening " + dir);
    }
    fd = next;
  }
  base = staged.substr(pos);
  return fd;
}

void DiskTree::add(const TreeEntry& e) {
  if (file_fd_ >= 0) bad("\"" + file_.path + "\" ended early");
  if (staging_.empty()) {
    if (!e.path.empty()) bad("it does not start with its root entry \".\"");
    begin_root(e);
  } else if (!root_dir_) {
    bad("\"" + e.path + "\" is below the copied file");
  }
  std::string base;
  int parent = open_parent(e.path, base);
  const std::string entry = e.path.empty() ? "the root entry" : "\"" + e.path + "\"";
  int rc = 0;
  switch (e.type) {
    case TreeEntry::Type::dir:
      rc = ::mkdirat(parent, base.c_str(), 0700);
      if (rc == 0) dirs_.push_back(e);
      break;
    case TreeEntry::Type::symlink: {
      rc = ::symlinkat(e.link.c_str(), parent, base.c_str());
      struct timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
      if (rc == 0) ::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
      break;
    }
    case TreeEntry::Type::file: {
      if (unsigned long long free = fs::free_bytes(staging_); e.size > free) {
        ::close(parent);
        fail(ErrorKind::io,
             what_ + ": " + entry + " is " + std::to_string(e.size) + " bytes, and only " +
                 std::to_string(free) + " are free there; nothing was written",
             "free some space, or copy it somewhere else");
      }
      file_fd_ = ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      rc = file_fd_ < 0 ? -1 : 0;
      file_ = e;
      left_ = e.size;
      break;
    }
  }
  int err = errno;
  ::close(parent);
  if (rc != 0) {
    if (err == EEXIST) bad(entry + " comes twice");
    errno = err;
    fail_errno(what_ + ": making " + entry);
  }
  if (file_fd_ >= 0 && left_ == 0) end_file();
}

void DiskTree::write(std::string_view data) {
  if (file_fd_ < 0 || data.size() > left_) bad("\"" + file_.path + "\" has more bytes than its header says");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(file_fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(what_ + ": writing \"" + file_.path + "\"");
    }
    off += static_cast<size_t>(n);
  }
  left_ -= data.size();
  if (left_ == 0) end_file();
}

void DiskTree::end_file() {
  struct timespec ts[2] = {{file_.mtime, 0}, {file_.mtime, 0}};
  if (::fchmod(file_fd_, file_.mode & 0777 & ~umask_) != 0 || ::futimens(file_fd_, ts) != 0)
    fail_errno(what_ + ": setting the mode of \"" + file_.path + "\"");
  ::close(file_fd_);
  file_fd_ = -1;
}

void DiskTree::publish_merged() {
  int dst = ::open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int src = open_dir_below(stage_fd_, kRoot);
  if (dst < 0 || src < 0) {
    if (dst >= 0) ::close(dst);
    if (src >= 0) ::close(src);
    fail_errno(what_ + ": opening " + target_);
  }
  try {
    merge(src, dst, target_, false);  // every conflict is found before anything moves
    merge(src, dst, target_, true);
  } catch (const Error& e) {
    ::close(src), ::close(dst);
    throw e.with_context(what_);
  }
  ::close(src), ::close(dst);
}

void DiskTree::finish() {
  if (staging_.empty()) bad("it is empty");
  if (file_fd_ >= 0) bad("\"" + file_.path + "\" ended early");
  if (merge_) {
    publish_merged();
  } else if (::renameat(stage_fd_, kRoot, AT_FDCWD, target_.c_str()) != 0) {
    if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
      fail(ErrorKind::conflict, what_ + ": cannot overwrite directory " + target_ + " with non-directory",
           "move it out of the way, or copy somewhere else");
    fail_errno(what_ + ": moving into place " + target_);
  }
  finished_ = true;
  // Directories get their modes and mtimes last, deepest first, so a
  // read-only one never locked out what went into it. Only those the copy
  // made: an existing target keeps its own.
  int root = ::open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (auto it = dirs_.rbegin(); root >= 0 && it != dirs_.rend(); ++it) {
    if (it->path.empty() && merge_) continue;
    int fd = ::dup(root);
    size_t pos = 0;
    const std::string& rel = it->path;
    while (fd >= 0 && pos < rel.size()) {
      size_t slash = std::min(rel.find('/', pos), rel.size());
      int next = open_dir_below(fd, rel.substr(pos, slash - pos));
      ::close(fd);
      fd = next;
      pos = slash + 1;
    }
    if (fd < 0) continue;
    struct timespec ts[2] = {{it->mtime, 0}, {it->mtime, 0}};
    ::fchmod(fd, it->mode & 0777 & ~umask_);
    ::futimens(fd, ts);
    ::close(fd);
  }
  if (root >= 0) ::close(root);
}

}  // namespace banger::copy
