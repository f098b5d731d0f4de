// What host and guest agree on outside the wire protocol: where the agent
// lives in an image, the name of its virtio-serial port, and the kernel
// command-line keys the host writes (host/vm/qemu_command.cc) and the agent
// reads (guest/). Both sides include this header; neither spells them.
#pragma once

namespace banger::proto {

// Where inject_agents puts the agent in every image (root-owned, 0755).
inline constexpr const char* kAgentDir = "/.banger";
inline constexpr const char* kAgentPath = "/.banger/agent";
// The agent's tools, run by the host as ordinary commands (`/.banger/agent
// --tar-create PATH`) so trees travel on an exec's stdin and stdout:
//   --stat PATH           prints "dir", "other" or "missing" (symlinks followed)
//   --tar-create PATH     writes PATH as a tar stream: its own entry named ".",
//                         then (a directory) everything below it, symlinks not
//                         followed, only directories, regular files and symlinks
//   --tar-extract TARGET  reads such a stream and makes "." at TARGET (missing
//                         parents made), the rest below it
//   --mount-workspace     mounts the workspace disk where kArgWorkspace says,
//                         after dropping what the guest cached of it (for a
//                         disk written while the VM booted: kArgWorkspaceLater)
// Each exits 0, or 1 (2: a path does not exist) after one line on stderr.
inline constexpr const char* kToolStat = "--stat";
inline constexpr const char* kToolTarCreate = "--tar-create";
inline constexpr const char* kToolTarExtract = "--tar-extract";
inline constexpr const char* kToolMountWorkspace = "--mount-workspace";
// The virtio-serial port QEMU exposes and the agent looks for in
// /sys/class/virtio-ports/*/name.
inline constexpr const char* kAgentPort = "banger.agent";

// Kernel command-line keys, each written KEY=VALUE (banger.debug alone).
inline constexpr const char* kArgHostname = "banger.hostname";  // the guest's hostname
inline constexpr const char* kArgInit = "banger.init";  // exec this from the image instead of the agent
inline constexpr const char* kArgIp = "banger.ip";      // ADDR/PREFIX; absent: no network
inline constexpr const char* kArgGateway = "banger.gw";
inline constexpr const char* kArgDns = "banger.dns";      // IP[,IP]
inline constexpr const char* kArgIface = "banger.iface";  // the NIC to configure (default: the first)
inline constexpr const char* kArgDebug = "banger.debug";  // trace the agent's boot steps on the console
// Where the agent mounts the workspace disk (host/workspace): an absolute path.
inline constexpr const char* kArgWorkspace = "banger.workspace";
// The workspace disk's virtio-blk serial: how the agent tells it from the
// root disk (/sys/block/vdX/serial), whatever order the disks probe in.
inline constexpr const char* kWorkspaceSerial = "banger-workspace";
// Present (alone): the workspace disk is still being written at boot, so the
// agent leaves it alone until the host runs kToolMountWorkspace.
inline constexpr const char* kArgWorkspaceLater = "banger.workspace_later";
// Host directories shared live over virtiofs (--mount): TAG:GUEST[:ro],...
// The agent mounts each virtiofs TAG at GUEST (read-only with :ro); a mount
// that fails stops the boot.
inline constexpr const char* kArgMounts = "banger.mounts";
// The virtiofs tag of mount N: kMountTagPrefix + N ("banger-mount-0").
inline constexpr const char* kMountTagPrefix = "banger-mount-";

}  // namespace banger::proto
