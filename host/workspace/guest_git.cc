#include "host/workspace/guest_git.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/workspace/git.h"
#include "host/workspace/git_blob.h"

namespace banger::workspace {

namespace {

std::optional<ext4::DirEntry> lookup(ext4::Editor& disk, uint32_t dir, const std::string& name) {
  for (auto& e : disk.ls_at(dir))
    if (e.name == name) return e;
  return std::nullopt;
}

// The inode at `path` (components below `dir`), each one's real type checked:
// directories on the way, `want` at the end. Never follows a symlink.
std::optional<uint32_t> find(ext4::Editor& disk, uint32_t dir, const std::string& path, ext4::FileType want) {
  size_t pos = 0;
  uint32_t cur = dir;
  while (true) {
    size_t slash = path.find('/', pos);
    std::string name = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    auto e = lookup(disk, cur, name);
    if (!e) return std::nullopt;
    ext4::FileType t = disk.stat_at(e->ino).type;
    if (slash == std::string::npos) {
      if (t != want) return std::nullopt;
      return e->ino;
    }
    if (t != ext4::FileType::directory) return std::nullopt;
    cur = e->ino;
    pos = slash + 1;
  }
}

bool is_hex(const std::string& s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// refs/heads/NAME with the characters branch names use; no "..", no "//".
bool plain_branch_ref(const std::string& ref) {
  if (ref.rfind("refs/heads/", 0) != 0 || ref.size() > 250 || ref.find("..") != std::string::npos ||
      ref.find("//") != std::string::npos || ref.back() == '/' || ref.find("/.") != std::string::npos)
    return false;
  for (char c : ref)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The commit the guest's HEAD names, or "" (unreadable, unborn).
std::string guest_head(ext4::Editor& disk, uint32_t gitdir) {
  auto head = find(disk, gitdir, "HEAD", ext4::FileType::regular);
  if (!head) return "";
  std::string text = trim(disk.read_at(*head, 4096));
  if (is_hex(text, 40)) return text;
  if (text.rfind("ref: ", 0) != 0) return "";
  std::string ref = text.substr(5);
  if (!plain_branch_ref(ref)) return "";
  if (auto loose = find(disk, gitdir, ref, ext4::FileType::regular)) {
    std::string id = trim(disk.read_at(*loose, 4096));
    return is_hex(id, 40) ? id : "";
  }
  if (auto packed = find(disk, gitdir, "packed-refs", ext4::FileType::regular)) {
    std::string all = disk.read_at(*packed, 64ull << 20);
    size_t pos = 0;
    while (pos < all.size()) {
      size_t nl = all.find('\n', pos);
      if (nl == std::string::npos) nl = all.size();
      std::string line = all.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.size() == 41 + ref.size() && line.compare(41, std::string::npos, ref) == 0 &&
          line[40] == ' ' && is_hex(line.substr(0, 40), 40))
        return line.substr(0, 40);
    }
  }
  return "";
}

void put(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (fd < 0) fail_errno("writing " + path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      fail_errno("writing " + path);
    }
    off += static_cast<size_t>(n);
  }
  close(fd);
}

// Copies the guest's object files (only names git gives them) into `objects`.
void copy_objects(ext4::Editor& disk, uint32_t gitdir, const std::string& objects,
                  const std::string& host_objects, const ReadOptions& o) {
  auto dir = find(disk, gitdir, "objects", ext4::FileType::directory);
  if (!dir) return;
  for (const auto& e : disk.ls_at(*dir)) {
    ext4::Stat st = disk.stat_at(e.ino);
    if (st.type != ext4::FileType::directory) continue;
    if (is_hex(e.name, 2)) {
      bool made = false;
      for (const auto& f : disk.ls_at(e.ino)) {
        if (!is_hex(f.name, 38) || disk.stat_at(f.ino).type != ext4::FileType::regular) continue;
        std::string rel = e.name + "/" + f.name;
        if (fs::exists(host_objects + "/" + rel)) continue;
        if (!made) mkdir((objects + "/" + e.name).c_str(), 0755);
        made = true;
        put(objects + "/" + rel, disk.read_at(f.ino, o.max_file_bytes));
      }
    } else if (e.name == "pack") {
      for (const auto& f : disk.ls_at(e.ino)) {
        const std::string& n = f.name;
        bool pack = n.size() == 50 && n.rfind("pack-", 0) == 0 && n.compare(45, 5, ".pack") == 0;
        bool idx = n.size() == 49 && n.rfind("pack-", 0) == 0 && n.compare(45, 4, ".idx") == 0;
        if ((!pack && !idx) || !is_hex(n.substr(5, 40), 40)) continue;
        if (disk.stat_at(f.ino).type != ext4::FileType::regular) continue;
        // A pack the host has under the same name is the host's (its name is
        // its checksum); if the guest lied, the fetch lacks objects and fails.
        if (fs::exists(host_objects + "/pack/" + n)) continue;
        put(objects + "/pack/" + n, disk.read_at(f.ino, o.max_file_bytes));
      }
    }
  }
}

}  // namespace

Tree commit_tree(const std::string& repo, const std::string& commit) {
  std::string out = git({repo, {"ls-tree", "-r", "-z", "--full-tree", commit}});
  Tree t;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nul = out.find('\0', pos);
    if (nul == std::string::npos) nul = out.size();
    std::string rec = out.substr(pos, nul - pos);
    pos = nul + 1;
    // "MODE TYPE ID\tPATH"
    size_t tab = rec.find('\t');
    if (tab == std::string::npos || tab < 52) continue;
    std::string mode = rec.substr(0, 6);
    if (mode == "160000") continue;
    TreeEntry e;
    e.symlink = mode == "120000";
    e.mode = e.symlink ? 0777 : (mode == "100755" ? 0755 : 0644);
    e.blob = rec.substr(tab - 40, 40);
    t[rec.substr(tab + 1)] = e;
  }
  return t;
}

GuestCommits import_guest_commits(ext4::Editor& disk, const std::string& repo, const std::string& head,
                                  const std::string& scratch, const ReadOptions& o) {
  GuestCommits r;
  auto gitdir = find(disk, ext4::Editor::kRootInode, ".git", ext4::FileType::directory);
  if (!gitdir) return r;
  std::string commit = guest_head(disk, *gitdir);
  if (commit.empty() || commit == head) return r;

  std::string host_objects = git_line({repo, {"rev-parse", "--absolute-git-dir"}}) + "/objects";
  std::string bare = scratch + "/guest.git";
  git({scratch, {"init", "-q", "--bare", bare}});
  fs::write_file(bare + "/objects/info/alternates", host_objects + "\n", 0600);
  copy_objects(disk, *gitdir, bare + "/objects", host_objects, o);
  if (!git_try({bare, {"update-ref", "refs/heads/guest", commit}})) {
    r.note = "the guest's HEAD " + commit.substr(0, 12) + " is not a commit in its .git";
    return r;
  }
  GitResult f =
      git_run({repo,
               {"-c", "fetch.fsckObjects=true", "-c", "transfer.fsckObjects=true", "fetch", "--quiet",
                "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", bare, "refs/heads/guest"},
               "",
               {}});
  if (f.exit_code != 0) {
    std::string why = trim(f.err);
    if (why.size() > 300) why = why.substr(0, 300) + "...";
    r.note = "the guest's commits did not pass git's checks (" + why + ")";
    return r;
  }
  if (!head.empty() && !git_try({repo, {"merge-base", "--is-ancestor", head, commit}})) {
    r.note = "the guest's HEAD " + commit.substr(0, 12) + " does not descend from the workspace's HEAD";
    return r;
  }
  std::string range = head.empty() ? commit : head + ".." + commit;
  r.count = std::stoul(git_line({repo, {"rev-list", "--count", range}}));
  r.commit = commit;
  return r;
}

}  // namespace banger::workspace
