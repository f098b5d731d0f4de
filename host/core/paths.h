// Where banger keeps its state. One state directory, $BANGER_HOME (default
// $XDG_DATA_HOME/banger, i.e. ~/.local/share/banger), all of it mode 0700:
//   index.db          the SQLite index (images, kernels, VMs)
//   blobs/sha256/     the content-addressed layer cache
//   images/NAME/      rootfs.ext4 + metadata
//   kernels/NAME/     vmlinuz, initrd, modules
//   vms/NAME/         disk overlay, sockets, console log
//   snapshots/NAME/   a saved VM: frozen disk, device state, memory, meta.json
//   tmp/              staging dirs (same filesystem, so publish is a rename)
#pragma once

#include <string>

namespace banger::paths {

std::string home();
std::string config_home();  // $XDG_CONFIG_HOME/banger
std::string blobs();
std::string images();
std::string kernels();
std::string vms();
std::string snapshots();
std::string staging();
std::string index_db();
// Creates home() and its subdirectories (0700) if missing.
void ensure_layout();

}  // namespace banger::paths
