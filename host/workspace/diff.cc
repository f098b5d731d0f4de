#include "host/workspace/diff.h"

namespace banger::workspace {

namespace {

bool same(const TreeEntry& a, const TreeEntry& b, bool git_modes) {
  if (a.symlink != b.symlink || a.blob != b.blob) return false;
  if (a.symlink) return true;
  return git_modes ? ((a.mode & 0100) == (b.mode & 0100)) : ((a.mode & 0777) == (b.mode & 0777));
}

}  // namespace

std::vector<Change> diff_trees(const Tree& before, const Tree& after, bool git_modes) {
  std::vector<Change> out;
  auto b = before.begin();
  auto a = after.begin();
  // Both are sorted by path: one merge pass.
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      out.push_back(Change{ChangeKind::deleted, b->first, {}});
      ++b;
    } else if (b == before.end() || a->first < b->first) {
      out.push_back(Change{ChangeKind::added, a->first, a->second});
      ++a;
    } else {
      if (!same(b->second, a->second, git_modes))
        out.push_back(Change{ChangeKind::modified, a->first, a->second});
      ++a;
      ++b;
    }
  }
  return out;
}

ChangeCounts count_changes(const std::vector<Change>& changes) {
  ChangeCounts c;
  for (const auto& ch : changes) {
    if (ch.kind == ChangeKind::added) ++c.added;
    else if (ch.kind == ChangeKind::modified) ++c.modified;
    else ++c.deleted;
  }
  return c;
}

}  // namespace banger::workspace
