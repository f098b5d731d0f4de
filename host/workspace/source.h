// What goes into a workspace: for a git repository the tracked files, the
// untracked ones that are not ignored, and .git; for any other directory
// everything in it. For a repository it also fixes the commit the workspace
// is taken from: HEAD when the working tree is clean, else a commit on HEAD
// holding the working tree as it is (written with a temporary index, so
// the user's index, working tree and branches are not touched).
#pragma once

#include <string>
#include <vector>

namespace banger::workspace {

struct Source {
  std::string dir;  // absolute
  bool git = false;
  std::string head;  // HEAD's commit ("" on an unborn branch)
  std::string base;  // the commit the workspace is taken from
  // Relative paths of what goes in. Git: files and symlinks of the
  // snapshot; otherwise directories too (so empty ones come along).
  std::vector<std::string> paths;
};

// Whether `dir` is taken as a git repository: it has a .git entry.
bool is_repository(const std::string& dir);

// `scratch` is an existing empty directory for the temporary index.
// `vm` names the VM in the snapshot commit's message.
Source scan_source(const std::string& dir, const std::string& vm, const std::string& scratch);

}  // namespace banger::workspace
