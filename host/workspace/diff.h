// What changed between the tree that went into a VM and the tree that came
// back: files added, modified (contents, type or mode) and deleted.
#pragma once

#include <string>
#include <vector>

#include "host/workspace/tree.h"

namespace banger::workspace {

enum class ChangeKind { added, modified, deleted };

struct Change {
  ChangeKind kind = ChangeKind::added;
  std::string path;
  TreeEntry after;  // added and modified
};

struct ChangeCounts {
  size_t added = 0, modified = 0, deleted = 0;
  size_t total() const { return added + modified + deleted; }
};

// `git_modes`: compare modes as git does (only the owner's execute bit);
// otherwise every permission bit counts.
std::vector<Change> diff_trees(const Tree& before, const Tree& after, bool git_modes);
ChangeCounts count_changes(const std::vector<Change>& changes);

}  // namespace banger::workspace
