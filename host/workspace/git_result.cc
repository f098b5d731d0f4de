#include "host/workspace/git_result.h"

#include "host/core/error.h"
#include "host/workspace/git.h"
#include "host/workspace/git_blob.h"

namespace banger::workspace {

std::string commit_changes(const std::string& repo, const std::string& parent,
                           const std::vector<Change>& changes, const ContentReader& read,
                           const std::string& message, const std::string& scratch) {
  // Blobs: one fast-import stream; no ref, no mark file, nothing else.
  std::string stream;
  std::string index_info;
  static const std::string kNullId(40, '0');
  for (const auto& c : changes) {
    if (c.kind == ChangeKind::deleted) {
      index_info += "0 " + kNullId + "\t" + c.path + '\0';
      continue;
    }
    std::string data = read(c);
    stream += "blob\ndata " + std::to_string(data.size()) + "\n";
    stream += data;
    stream += "\n";
    index_info += std::string(git_mode(c.after)) + " " + git_blob_id(data) + "\t" + c.path + '\0';
  }
  if (!stream.empty()) git({repo, {"fast-import", "--quiet", "--done"}, stream + "done\n"});
  std::vector<std::string> env = {"GIT_INDEX_FILE=" + scratch + "/result-index"};
  git({repo, {"read-tree", parent}, "", env});
  git({repo, {"update-index", "-z", "--index-info"}, index_info, env});
  std::string tree = git_line({repo, {"write-tree"}, "", env});
  return git_line({repo, {"commit-tree", tree, "-p", parent, "-m", message}});
}

void set_branch(const std::string& repo, const std::string& branch, const std::string& commit) {
  std::string ref = "refs/heads/" + branch;
  git({repo, {"check-ref-format", ref}});
  auto head = git_try({repo, {"symbolic-ref", "-q", "HEAD"}});
  if (head && *head == ref + "\n")
    fail(ErrorKind::conflict, "branch " + branch + " is checked out in " + repo + ": not moved",
         "switch to another branch (git switch -), then export again");
  git({repo, {"update-ref", "-m", "banger: results of a VM's workspace", ref, commit}});
}

void apply_to_worktree(const std::string& repo, const std::string& from, const std::string& to) {
  std::string patch =
      git({repo, {"diff", "--binary", "--full-index", "--no-renames", "--no-ext-diff", from, to}});
  if (patch.empty()) return;
  GitCall apply{repo, {"apply", "--whitespace=nowarn", "-"}, patch, {}};
  try {
    git(apply);
  } catch (const Error& e) {
    fail(ErrorKind::conflict,
         "applying the changes to the working tree of " + repo + " failed: " + e.message(),
         "the working tree changed since the workspace was taken");
  }
}

}  // namespace banger::workspace
