#include "host/workspace/source.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/workspace/git.h"

namespace banger::workspace {

namespace stdfs = std::filesystem;

namespace {

void scan_plain(Source& s) {
  std::error_code ec;
  stdfs::recursive_directory_iterator it(s.dir, stdfs::directory_options::none, ec), end;
  if (ec) fail(ErrorKind::io, "reading the workspace " + s.dir + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail(ErrorKind::io, "reading the workspace " + s.dir + ": " + ec.message());
    // Symlinks are entries, never followed (recursive_directory_iterator
    // does not follow them without follow_directory_symlink).
    s.paths.push_back(it->path().lexically_relative(s.dir).string());
  }
}

void scan_git(Source& s, const std::string& vm, const std::string& scratch) {
  struct stat st {};
  std::string dotgit = s.dir + "/.git";
  if (lstat(dotgit.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
    fail(ErrorKind::unsupported,
         "the workspace " + s.dir + " is a linked git worktree or a submodule (its .git is not a directory)",
         "give the repository's main worktree as --workspace");
  auto head = git_try({s.dir, {"rev-parse", "-q", "--verify", "HEAD^{commit}"}});
  if (head) {
    s.head = *head;
    while (!s.head.empty() && s.head.back() == '\n') s.head.pop_back();
  }
  // A copy of the user's index keeps git's stat cache: `add -A` then hashes
  // only what changed. The copy is what gets updated, never the index.
  std::string index = scratch + "/index";
  if (fs::exists(dotgit + "/index")) fs::write_file(index, fs::read_file(dotgit + "/index"), 0600);
  std::vector<std::string> env = {"GIT_INDEX_FILE=" + index};
  git({s.dir, {"add", "-A", "--", "."}, "", env});
  std::string listing = git({s.dir, {"ls-files", "-z", "-s"}, "", env});
  size_t pos = 0;
  while (pos < listing.size()) {
    size_t nul = listing.find('\0', pos);
    if (nul == std::string::npos) nul = listing.size();
    std::string rec = listing.substr(pos, nul - pos);
    pos = nul + 1;
    size_t tab = rec.find('\t');
    if (tab == std::string::npos) continue;
    // "MODE SHA STAGE\tPATH"; a gitlink (160000, a submodule) has no files here.
    if (rec.compare(0, 6, "160000") == 0) continue;
    s.paths.push_back(rec.substr(tab + 1));
  }
  std::string tree = git_line({s.dir, {"write-tree"}, "", env});
  if (!s.head.empty() && git_line({s.dir, {"rev-parse", s.head + "^{tree}"}}) == tree) {
    s.base = s.head;
    return;
  }
  std::vector<std::string> args = {
      "commit-tree", tree, "-m",
      "banger: the workspace of VM " + vm + " as it was taken (uncommitted changes included)"};
  if (!s.head.empty()) args.insert(args.end(), {"-p", s.head});
  s.base = git_line({s.dir, args});
}

}  // namespace

bool is_repository(const std::string& dir) {
  struct stat st {};
  return lstat((dir + "/.git").c_str(), &st) == 0;
}

Source scan_source(const std::string& dir, const std::string& vm, const std::string& scratch) {
  Source s;
  std::error_code ec;
  stdfs::path canon = stdfs::canonical(dir, ec);
  if (ec) fail(ErrorKind::not_found, "workspace " + dir + ": " + ec.message(), "give an existing directory");
  if (!stdfs::is_directory(canon))
    fail(ErrorKind::invalid_input, "workspace " + dir + " is not a directory", "give a directory");
  s.dir = canon.string();
  if (is_repository(s.dir)) {
    s.git = true;
    scan_git(s, vm, scratch);
  } else {
    scan_plain(s);
  }
  return s;
}

}  // namespace banger::workspace
