#include "host/workspace/export_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/staging_dir.h"
#include "host/store/staging.h"

namespace banger::workspace {

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// Creates `path` (relative) below the directory `root`, making its parent
// directories; never follows a symlink on the way.
void write_below(int root, const std::string& path, const Change& c, const std::string& data,
                 unsigned umask_bits, const std::string& shown) {
  auto parts = components(path);
  for (const auto& p : parts)
    if (p.empty() || p == "." || p == "..")
      fail(ErrorKind::invalid_input, "refusing to export '" + shown + "': not a plain relative path");
  int dir = dup(root);
  if (dir < 0) fail_errno("exporting " + shown);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Fd parent(dir);
    if (mkdirat(parent.get(), parts[i].c_str(), 0777 & ~umask_bits) != 0 && errno != EEXIST)
      fail_errno("exporting " + shown);
    dir = openat(parent.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) fail_errno("exporting " + shown + " (its parent is not a directory)");
  }
  Fd parent(dir);
  const std::string& leaf = parts.back();
  if (c.after.symlink) {
    if (symlinkat(data.c_str(), parent.get(), leaf.c_str()) != 0) fail_errno("exporting " + shown);
    return;
  }
  int fd = openat(parent.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail_errno("exporting " + shown);
  Fd file(fd);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("exporting " + shown);
    off += static_cast<size_t>(n);
  }
  if (fchmod(fd, (c.after.mode & 0777) & ~umask_bits) != 0) fail_errno("exporting " + shown);
}

bool is_empty_dir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

}  // namespace

std::string quote_path(const std::string& path) {
  bool plain = true;
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') plain = false;
  if (plain) return path;
  std::string out = "\"";
  for (unsigned char c : path) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\%03o", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void check_export_dir(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode) || !is_empty_dir(dir))
      fail(ErrorKind::conflict, "the export directory " + dir + " already exists and is not empty",
           "give a new directory (or an empty one) as --export");
    return;
  }
  std::string parent = std::filesystem::path(dir).parent_path().string();
  if (parent.empty()) parent = ".";
  if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(ErrorKind::not_found, "the export directory's parent " + parent + " does not exist",
         "create it first, or give another --export directory");
}

void export_to_dir(const std::vector<Change>& changes, const ContentReader& read, const std::string& dir) {
  check_export_dir(dir);
  std::string parent = std::filesystem::path(dir).parent_path().string();
  if (parent.empty()) parent = ".";
  unsigned umask_bits = fs::current_umask();
  // An export killed with SIGKILL leaves its locked staging dir here: the
  // next export into this directory removes it (only banger's own).
  for (const auto& dead : store::dead_staging(parent))
    if (std::filesystem::path(dead.path).filename().string().rfind(".banger-export-", 0) == 0)
      fs::remove_all(dead.path);
  fs::StagingDir staging(parent, "banger-export");  // removed unless published
  Fd root(open(staging.path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0) fail_errno("exporting into " + dir);
  std::string deleted;
  for (const auto& c : changes) {
    if (c.kind == ChangeKind::deleted) {
      deleted += quote_path(c.path) + "\n";
      continue;
    }
    if (c.path == kDeletedList)
      fail(ErrorKind::conflict,
           std::string("the workspace has a file named ") + kDeletedList +
               ", the name banger gives the list of deleted files",
           "rename that file in the workspace");
    write_below(root.get(), c.path, c, read(c), umask_bits, dir + "/" + c.path);
  }
  if (!deleted.empty()) {
    Change list;
    list.after.mode = 0644;
    write_below(root.get(), kDeletedList, list, deleted, umask_bits, dir + "/" + kDeletedList);
  }
  if (fchmod(root.get(), 0777 & ~umask_bits) != 0) fail_errno("exporting into " + dir);
  staging.publish(dir);
}

}  // namespace banger::workspace
