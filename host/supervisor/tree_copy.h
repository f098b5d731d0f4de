// `vm cp` both ways, for files and directories alike: the agent's tree
// tools (proto/boot.h) carry a tar stream on an exec's stdio, and docker
// cp's rules (host/copy/copy_rules.h) say where it lands. "-" as the local
// side is a tar stream on stdin (extracted into the guest directory) or
// stdout (what the guest path holds, its root named after it).
//
// Out of the guest, which is untrusted, the stream is checked entry by entry
// (host/copy/tar_in.h), lands through a staging directory (host/copy/
// disk_tree.h), and is published only after the agent's tool exited 0.
#pragma once

#include <string>

#include "host/supervisor/client.h"

namespace banger::supervisor {

void copy_out(Client& client, const std::string& guest_src, const std::string& local_dest);
void copy_in(Client& client, const std::string& local_src, const std::string& guest_dest);

}  // namespace banger::supervisor
