// A host path as a tree stream: its own entry "", then (a directory)
// everything below it in name order. Symlinks are copied as symlinks, never
// followed, except the root when `follow_root` ("DIR/" and "DIR/." name
// where a symlink points). Devices, fifos and sockets are skipped with a
// warning; hard links arrive as separate files.
#pragma once

#include <string>

#include "host/copy/tree.h"

namespace banger::copy {

// Throws not_found when `path` does not exist.
void walk_tree(const std::string& path, bool follow_root, TreeSink& sink);

}  // namespace banger::copy
