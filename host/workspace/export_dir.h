// Results of a workspace that is not a repository: the added and modified
// files written into a new directory, the deleted paths listed in its
// .banger-deleted. Built in a staging directory beside it and renamed into
// place, so the directory appears whole or not at all. Every file is
// created below a directory descriptor, component by component with
// O_NOFOLLOW: nothing is ever written through a symlink, whatever the
// guest named its entries. Modes keep the permission bits only (no setuid,
// setgid or sticky), minus the user's umask.
#pragma once

#include <string>
#include <vector>

#include "host/workspace/git_result.h"

namespace banger::workspace {

inline constexpr const char* kDeletedList = ".banger-deleted";

// `dir` must not exist (or be an empty directory); its parent must.
void export_to_dir(const std::vector<Change>& changes, const ContentReader& read, const std::string& dir);

// Checks `dir` before a VM runs, so a bad --export fails early (the same
// rule export_to_dir applies).
void check_export_dir(const std::string& dir);

// A path as one line of .banger-deleted: unchanged, or C-quoted in double
// quotes (as git quotes paths) when it holds a newline, a quote, a
// backslash or a control character.
std::string quote_path(const std::string& path);

}  // namespace banger::workspace
