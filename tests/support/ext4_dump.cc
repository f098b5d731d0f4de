#include "tests/support/ext4_dump.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "host/core/fs.h"
#include "host/core/process.h"

namespace banger::test {

FsckResult e2fsck(const std::string& image) {
  auto r = run_capture({"e2fsck", "-fn", image});
  return FsckResult{r.exit_code, r.out + r.err};
}

std::string debugfs(const std::string& image, const std::string& command) {
  auto r = run_capture({"debugfs", "-R", command, image});
  // stderr carries debugfs's banner line, then its error messages.
  std::string err = r.err;
  if (err.rfind("debugfs ", 0) == 0) {
    size_t nl = err.find('\n');
    err = nl == std::string::npos ? "" : err.substr(nl + 1);
  }
  return r.out + err;
}

std::string fnv64(const std::string& data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string tree_listing(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none);
       it != fs::recursive_directory_iterator(); ++it) {
    std::string p = it->path().string().substr(root.size());
    if (p == "/lost+found") {
      it.disable_recursion_pending();
      continue;
    }
    paths.push_back(p);
  }
  std::sort(paths.begin(), paths.end());
  std::map<std::pair<dev_t, ino_t>, std::string> first_link;
  std::string out;
  for (auto& p : paths) {
    std::string full = root + p;
    struct stat st {};
    if (lstat(full.c_str(), &st) != 0) continue;
    const char* type = "file";
    if (S_ISDIR(st.st_mode)) type = "dir";
    else if (S_ISLNK(st.st_mode)) type = "symlink";
    else if (S_ISCHR(st.st_mode)) type = "chardev";
    else if (S_ISBLK(st.st_mode)) type = "blockdev";
    else if (S_ISFIFO(st.st_mode)) type = "fifo";
    else if (S_ISSOCK(st.st_mode)) type = "socket";
    char buf[64];
    std::snprintf(buf, sizeof buf, " %04o %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
    std::string line = p + " " + type + buf;
    if (S_ISREG(st.st_mode)) {
      line += " size=" + std::to_string(st.st_size) + " sha=" + fnv64(banger::fs::read_file(full)) +
              " nlink=" + std::to_string(st.st_nlink);
    } else if (S_ISLNK(st.st_mode)) {
      line += " ->" + fs::read_symlink(full).string();
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line += " dev=" + std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, fresh] = first_link.emplace(std::make_pair(st.st_dev, st.st_ino), p);
      line += " link=" + it->second;
    }
    char names[65536];
    ssize_t n = llistxattr(full.c_str(), names, sizeof names);
    std::vector<std::string> xs;
    for (ssize_t off = 0; n > 0 && off < n; off += static_cast<ssize_t>(std::strlen(names + off)) + 1) {
      xs.emplace_back(names + off);
    }
    std::sort(xs.begin(), xs.end());
    for (auto& x : xs) {
      std::string v(65536, '\0');
      ssize_t vn = lgetxattr(full.c_str(), x.c_str(), v.data(), v.size());
      v.resize(vn > 0 ? static_cast<size_t>(vn) : 0);
      line += " xattr=" + x + ":" + fnv64(v);
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace banger::test
