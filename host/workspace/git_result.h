// Results into a repository with git plumbing only: blobs written by
// `git fast-import`, the tree built in a temporary index (GIT_INDEX_FILE),
// then commit-tree and update-ref. The user's working tree, index and
// current branch are never touched (apply_to_worktree touches the working
// tree only, and only on request).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "host/workspace/diff.h"

namespace banger::workspace {

// The bytes of a changed path (a file's contents, a symlink's target).
using ContentReader = std::function<std::string(const Change&)>;

// A commit on `parent` whose tree is parent's with `changes` applied.
// `scratch`: an existing directory for the temporary index.
std::string commit_changes(const std::string& repo, const std::string& parent,
                           const std::vector<Change>& changes, const ContentReader& read,
                           const std::string& message, const std::string& scratch);

// Points refs/heads/BRANCH at `commit` (made or moved). A branch that is
// checked out in the repository is refused (conflict): moving it would
// change what the user's HEAD means.
void set_branch(const std::string& repo, const std::string& branch, const std::string& commit);

// Applies the difference `from` -> `to` to the working tree (not the index)
// with `git apply`: all of it or nothing, and never through a symlink. A
// conflict error with git's words when the working tree no longer matches.
void apply_to_worktree(const std::string& repo, const std::string& from, const std::string& to);

}  // namespace banger::workspace
