// The manifest: the tree that went into a VM's workspace, kept in the VM's
// directory (written by the host, never by the guest) until the results are
// read back and compared with it.
#pragma once

#include <string>

#include "host/workspace/tree.h"

namespace banger::workspace {

void save_manifest(const std::string& path, const Tree& tree);
// An invalid_input error naming the file when it is not a manifest.
Tree load_manifest(const std::string& path);

}  // namespace banger::workspace
