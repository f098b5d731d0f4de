#include "guest/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace banger::agent {

namespace {

constexpr size_t kBlock = 512;
constexpr uint64_t kMaxOctal11 = (1ull << 33) - 1;  // what 11 octal digits hold
constexpr size_t kMaxPaxHeader = 1 << 20;

[[noreturn]] void die(const std::string& msg, int code = 1) {
  fprintf(stderr, "%s\n", msg.c_str());
  exit(code);
}
// Exit 2 says "no such file" to the host (proto/boot.h).
[[noreturn]] void die_errno(const std::string& what) {
  int err = errno;
  die(what + ": " + strerror(err), err == ENOENT ? 2 : 1);
}

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die_errno("writing the tar stream");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads exactly n bytes; false at end of input before the first byte.
bool read_exact(int fd, char* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_errno("reading the tar stream");
    }
    if (r == 0) {
      if (got == 0) return false;
      die("the tar stream ends inside a block");
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

void pad(int fd, uint64_t size) {
  static const char zeros[kBlock] = {};
  if (size % kBlock) write_all(fd, zeros, kBlock - size % kBlock);
}

// ---- writing (--tar-create): ustar, with a pax header for long names and big files ----

void octal(char* field, size_t width, uint64_t v) {
  snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(v));
}

void header(char* h, const std::string& name, char type, uint32_t mode, uint64_t size, int64_t mtime,
            const std::string& link) {
  memset(h, 0, kBlock);
  // Fixed-width fields: the block was zeroed, and 99 bytes leave a NUL.
  std::copy_n(name.data(), std::min<size_t>(name.size(), 99), h);
  octal(h + 100, 8, mode & 07777);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size > kMaxOctal11 ? 0 : size);
  octal(h + 136, 12, mtime < 0 ? 0 : std::min<uint64_t>(static_cast<uint64_t>(mtime), kMaxOctal11));
  memset(h + 148, ' ', 8);
  h[156] = type;
  std::copy_n(link.data(), std::min<size_t>(link.size(), 99), h + 157);
  std::copy_n("ustar", 6, h + 257);  // with its NUL
  std::copy_n("00", 2, h + 263);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(h[i]);
  snprintf(h + 148, 7, "%06o", sum);
  h[155] = ' ';
}

std::string pax_record(const std::string& key, const std::string& value) {
  size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = base + 1;
  while (std::to_string(len).size() + base != len) len = std::to_string(len).size() + base;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

void emit_header(const std::string& name, char type, uint32_t mode, uint64_t size, int64_t mtime,
                 const std::string& link) {
  char h[kBlock];
  std::string pax;
  if (name.size() > 99) pax += pax_record("path", name);
  if (link.size() > 99) pax += pax_record("linkpath", link);
  if (size > kMaxOctal11) pax += pax_record("size", std::to_string(size));
  if (!pax.empty()) {
    header(h, "PaxHeader", 'x', 0644, pax.size(), mtime, "");
    write_all(1, h, kBlock);
    write_all(1, pax.data(), pax.size());
    pad(1, pax.size());
  }
  header(h, name, type, mode, size, mtime, link);
  write_all(1, h, kBlock);
}

void emit_file(const std::string& path, const std::string& name, const struct stat& st) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die_errno("reading " + path);
  struct stat now {};
  if (fstat(fd, &now) != 0 || !S_ISREG(now.st_mode)) die(path + " changed while it was copied");
  const uint64_t size = static_cast<uint64_t>(now.st_size);
  emit_header(name, '0', st.st_mode, size, now.st_mtim.tv_sec, "");
  char buf[64 * 1024];
  uint64_t left = size;
  while (left > 0) {
    ssize_t r = read(fd, buf, std::min<uint64_t>(sizeof buf, left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die_errno("reading " + path);
    if (r == 0) die(path + " shrank while it was copied");
    write_all(1, buf, static_cast<size_t>(r));
    left -= static_cast<uint64_t>(r);
  }
  close(fd);
  pad(1, size);
}

void emit(const std::string& path, const std::string& name, const struct stat& st) {
  if (S_ISREG(st.st_mode)) {
    emit_file(path, name, st);
  } else if (S_ISLNK(st.st_mode)) {
    std::string link(PATH_MAX, '\0');
    ssize_t n = readlink(path.c_str(), link.data(), link.size());
    if (n < 0) die_errno("reading the symlink " + path);
    link.resize(static_cast<size_t>(n));
    emit_header(name, '2', 0777, 0, st.st_mtim.tv_sec, link);
  } else if (S_ISDIR(st.st_mode)) {
    emit_header(name == "." ? "./" : name + "/", '5', st.st_mode, 0, st.st_mtim.tv_sec, "");
    DIR* d = opendir(path.c_str());
    if (!d) die_errno("reading the directory " + path);
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      const std::string child = path + "/" + n;
      struct stat cst {};
      if (lstat(child.c_str(), &cst) != 0) die_errno("reading " + child);
      emit(child, name == "." ? n : name + "/" + n, cst);
    }
  } else {
    fprintf(stderr, "skipped %s: not a file, directory or symlink\n", path.c_str());
  }
}

// ---- reading (--tar-extract) ----

uint64_t parse_number(const char* f, size_t n, const std::string& what) {
  if (static_cast<unsigned char>(f[0]) & 0x80) {  // base-256
    uint64_t v = static_cast<unsigned char>(f[0]) & 0x3f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 56) die("the tar stream's " + what + " is out of range");
      v = (v << 8) | static_cast<unsigned char>(f[i]);
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < n && f[i] == ' ') ++i;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v >> 60) die("the tar stream's " + what + " is out of range");
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
  }
  if (i < n && f[i] != '\0' && f[i] != ' ') die("the tar stream has a malformed " + what);
  return v;
}

std::string field(const char* f, size_t n) { return std::string(f, strnlen(f, n)); }

// "./a//b/" -> "a/b"; "." -> "". Refuses what climbs or is absolute.
std::string clean(const std::string& name) {
  if (!name.empty() && name[0] == '/') die("the tar stream has an absolute name: " + name);
  std::string out;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string::npos) slash = name.size();
    std::string comp = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") die("the tar stream has a name that climbs out with ..: " + name);
    out += (out.empty() ? "" : "/") + comp;
  }
  return out;
}

struct Entry {
  char type = 0;
  std::string name, link;
  uint32_t mode = 0;
  uint64_t size = 0;
  int64_t mtime = 0;
};

class Extractor {
 public:
  explicit Extractor(std::string target) : target_(std::move(target)) {}

  void add(const Entry& e) {
    const std::string rel = clean(e.name);
    if (rel.empty()) return add_root(e);
    if (root_fd_ < 0) open_root_dir(false);
    std::string base;
    int parent = open_parent(rel, base);
    const std::string shown = target_ + "/" + rel;
    if (e.type == '5') {
      make_dir(parent, base, shown);
      dirs_.push_back({rel, e});
    } else {
      place(parent, base, shown, e);
    }
    close(parent);
  }

  void finish() {
    if (root_fd_ < 0 && !root_is_file_) open_root_dir(false);
    // Deepest first, so setting a directory's mode never locks out its children.
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      const char* p = it->first.empty() ? "." : it->first.c_str();
      const std::string shown = target_ + (it->first.empty() ? "" : "/" + it->first);
      if (fchmodat(root_fd_, p, it->second.mode & 07777, 0) != 0) die_errno("setting the mode of " + shown);
      struct timespec ts[2] = {{it->second.mtime, 0}, {it->second.mtime, 0}};
      utimensat(root_fd_, p, ts, AT_SYMLINK_NOFOLLOW);
    }
    if (root_fd_ >= 0) close(root_fd_);
  }

  void skip(uint64_t size) {
    char buf[kBlock];
    for (uint64_t left = (size + kBlock - 1) / kBlock; left > 0; --left) {
      if (!read_exact(0, buf, kBlock)) die("the tar stream ends inside an entry");
    }
  }

 private:
  void add_root(const Entry& e) {
    if (root_seen_) die("the tar stream has its root entry twice");
    root_seen_ = true;
    if (e.type == '5') {
      open_root_dir(true);
      if (root_created_) dirs_.push_back({"", e});
      return;
    }
    make_parents(target_);
    std::string dir = target_.substr(0, target_.rfind('/') + 1);
    int parent = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) die_errno("opening " + dir);
    root_is_file_ = true;
    place(parent, target_.substr(target_.rfind('/') + 1), target_, e);
    close(parent);
  }

  // mkdir -p of PATH's parent.
  static void make_parents(const std::string& path) {
    for (size_t pos = 1; (pos = path.find('/', pos)) != std::string::npos; ++pos) {
      std::string p = path.substr(0, pos);
      if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) die_errno("making " + p);
    }
  }

  void open_root_dir(bool from_entry) {
    if (root_is_file_) die("the tar stream has entries below a file");
    if (root_fd_ >= 0) return;
    struct stat st {};
    if (stat(target_.c_str(), &st) != 0) {
      make_parents(target_);
      if (mkdir(target_.c_str(), 0700) != 0) die_errno("making " + target_);
      root_created_ = from_entry;
    } else if (!S_ISDIR(st.st_mode)) {
      die("cannot overwrite non-directory " + target_ + " with directory");
    }
    root_fd_ = open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd_ < 0) die_errno("opening " + target_);
  }

  // Walks REL's parent from the root without following symlinks, making
  // missing directories; returns its descriptor and REL's last name.
  int open_parent(const std::string& rel, std::string& base) {
    int fd = dup(root_fd_);
    size_t pos = 0;
    for (size_t slash; (slash = rel.find('/', pos)) != std::string::npos; pos = slash + 1) {
      std::string comp = rel.substr(pos, slash - pos);
      if (mkdirat(fd, comp.c_str(), 0755) != 0 && errno != EEXIST)
        die_errno("making " + rel.substr(0, slash));
      int next = openat(fd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0) die_errno("entering " + target_ + "/" + rel.substr(0, slash));
      close(fd);
      fd = next;
    }
    base = rel.substr(pos);
    return fd;
  }

  static void make_dir(int parent, const std::string& base, const std::string& shown) {
    if (mkdirat(parent, base.c_str(), 0700) == 0) return;
    struct stat st {};
    if (errno != EEXIST || fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      die_errno("making " + shown);
    if (!S_ISDIR(st.st_mode)) die("cannot overwrite non-directory " + shown + " with directory");
  }

  // A file, symlink or hard link: made under a fresh name, renamed over BASE.
  void place(int parent, const std::string& base, const std::string& shown, const Entry& e) {
    const std::string tmp = ".banger-tmp-" + std::to_string(getpid()) + "-" + std::to_string(++tmp_n_);
    struct timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
    if (e.type == '2') {
      if (symlinkat(e.link.c_str(), parent, tmp.c_str()) != 0) die_errno("making the symlink " + shown);
      utimensat(parent, tmp.c_str(), ts, AT_SYMLINK_NOFOLLOW);
      skip(e.size);
    } else if (e.type == '1') {
      if (root_fd_ < 0) die("the tar stream has a hard link outside a directory: " + shown);
      std::string to = clean(e.link);
      if (linkat(root_fd_, to.c_str(), parent, tmp.c_str(), 0) != 0)
        die_errno("making the hard link " + shown);
      skip(e.size);
    } else {
      int fd = openat(parent, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) die_errno("writing " + shown);
      char buf[kBlock * 128];
      uint64_t left = (e.size + kBlock - 1) / kBlock * kBlock, data = e.size;
      while (left > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof buf, left));
        if (!read_exact(0, buf, n)) die("the tar stream ends inside " + e.name);
        size_t keep = static_cast<size_t>(std::min<uint64_t>(n, data));
        if (keep) write_all(fd, buf, keep);
        data -= keep;
        left -= n;
      }
      if (fchmod(fd, e.mode & 07777) != 0) die_errno("setting the mode of " + shown);
      futimens(fd, ts);
      close(fd);
    }
    if (renameat(parent, tmp.c_str(), parent, base.c_str()) != 0) {
      int err = errno;
      unlinkat(parent, tmp.c_str(), 0);
      if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
        die("cannot overwrite directory " + shown + " with non-directory");
      errno = err;
      die_errno("writing " + shown);
    }
  }

  std::string target_;
  int root_fd_ = -1;
  bool root_seen_ = false, root_created_ = false, root_is_file_ = false;
  unsigned tmp_n_ = 0;
  std::vector<std::pair<std::string, Entry>> dirs_;
};

// Applies a pax header's records to the entry that follows.
void parse_pax(const std::string& data, Entry& e, bool& has_path, bool& has_link, bool& has_size) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t space = data.find(' ', pos);
    if (space == std::string::npos) die("the tar stream has a malformed pax header");
    uint64_t len = strtoull(data.substr(pos, space - pos).c_str(), nullptr, 10);
    if (len <= space - pos || pos + len > data.size()) die("the tar stream has a malformed pax header");
    std::string rec = data.substr(space + 1, pos + len - space - 2);
    pos += len;
    size_t eq = rec.find('=');
    if (eq == std::string::npos) continue;
    std::string key = rec.substr(0, eq), value = rec.substr(eq + 1);
    if (key == "path") e.name = value, has_path = true;
    if (key == "linkpath") e.link = value, has_link = true;
    if (key == "size") e.size = strtoull(value.c_str(), nullptr, 10), has_size = true;
    if (key == "mtime") e.mtime = strtoll(value.c_str(), nullptr, 10);
  }
}

}  // namespace

int tool_stat(const char* path) {
  struct stat st {};
  if (stat(path, &st) != 0) {
    if (errno != ENOENT) die_errno(path);
    printf("missing\n");
  } else {
    printf(S_ISDIR(st.st_mode) ? "dir\n" : "other\n");
  }
  return 0;
}

int tool_tar_create(const char* path) {
  std::string p = path;
  // "DIR/" and "DIR/." name the directory a symlink points at, as cp does.
  bool follow = p.size() > 1 && (p.back() == '/' || (p.size() > 2 && p.compare(p.size() - 2, 2, "/.") == 0));
  struct stat st {};
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) die_errno(p);
  if (follow && !S_ISDIR(st.st_mode)) die(p + ": not a directory");
  emit(p, ".", st);
  char end[kBlock * 2] = {};
  write_all(1, end, sizeof end);
  return 0;
}

int tool_tar_extract(const char* target) {
  Extractor x(target);
  char h[kBlock];
  Entry pending;
  bool has_path = false, has_link = false, has_size = false;
  while (read_exact(0, h, kBlock)) {
    if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) break;
    unsigned sum = 0;
    for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    if (parse_number(h + 148, 8, "checksum") != sum) die("the tar stream has a header with a bad checksum");
    Entry e = pending;
    e.type = h[156];
    if (!has_path) {
      std::string prefix = field(h + 345, 155);
      e.name = (prefix.empty() ? "" : prefix + "/") + field(h, 100);
    }
    if (!has_link) e.link = field(h + 157, 100);
    if (!has_size) e.size = parse_number(h + 124, 12, "size");
    e.mode = static_cast<uint32_t>(parse_number(h + 100, 8, "mode"));
    if (!e.mtime) e.mtime = static_cast<int64_t>(parse_number(h + 136, 12, "mtime"));
    pending = Entry{};
    has_path = has_link = has_size = false;
    if (e.type == 'x') {
      if (e.size > kMaxPaxHeader) die("the tar stream has a pax header over 1 MiB");
      std::string data((e.size + kBlock - 1) / kBlock * kBlock, '\0');
      if (!read_exact(0, data.data(), data.size())) die("the tar stream ends inside a pax header");
      data.resize(e.size);
      parse_pax(data, pending, has_path, has_link, has_size);
      continue;
    }
    if (e.type == 'g') {
      x.skip(e.size);
      continue;
    }
    if (e.type == '\0' || e.type == '7') e.type = '0';
    if (e.type != '0' && e.type != '5' && e.type != '2' && e.type != '1') {
      fprintf(stderr, "skipped %s: not a file, directory or link\n", e.name.c_str());
      x.skip(e.size);
      continue;
    }
    x.add(e);
    if (e.type == '5') x.skip(e.size);
  }
  x.finish();
  // Whatever follows the end (record padding) is read, so the host's last
  // writes never meet a closed stdin.
  while (read(0, h, kBlock) > 0) {
  }
  return 0;
}

}  // namespace banger::agent
