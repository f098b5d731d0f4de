// Commits the guest made in the workspace's .git, brought into the host's
// repository. The guest's .git is hostile, so banger reads from it only
// object files (loose objects and packs, names checked, sizes bounded) and
// the commit its HEAD names; they go into a bare repository banger makes
// (its own config, the host's objects as alternates), from which the host
// repository fetches that one commit with fetch.fsckObjects, so git checks
// every object that comes in. Refs, config and hooks of the guest's .git
// are never used.
#pragma once

#include <string>

#include "host/ext4/editor.h"
#include "host/workspace/readback.h"

namespace banger::workspace {

struct GuestCommits {
  std::string commit;  // the guest's HEAD, now in the host repository ("" when none)
  size_t count = 0;    // commits on top of the workspace's HEAD
  std::string note;    // why the guest's commits were left out, if they were
};

// `head`: the HEAD the workspace was taken at. `scratch`: an empty directory.
GuestCommits import_guest_commits(ext4::Editor& disk, const std::string& repo, const std::string& head,
                                  const std::string& scratch, const ReadOptions& options);

// A commit's tree as a Tree (blob ids, git's modes; submodules left out).
Tree commit_tree(const std::string& repo, const std::string& commit);

}  // namespace banger::workspace
