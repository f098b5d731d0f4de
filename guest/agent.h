// The guest agent: one static binary that is the initramfs /init, PID 1 in
// the root filesystem, or a service under the image's own init (see main.cc).
// Internal declarations shared by guest/*.cc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/boot.h"  // the agent path, its port, the kernel command-line keys

namespace banger::agent {

inline constexpr const char* kVersion = "0.1.0";
// The initramfs lists the modules to load here, one path per line, in order.
inline constexpr const char* kModulesList = "/etc/banger/modules";
// Carries the uptime at which the first init started from stage 1 to stage 2.
inline constexpr const char* kInitUptimeEnv = "BANGER_INIT_UPTIME_MS";
// Carries stage 1's descriptor of the initramfs root to the agent in the root
// filesystem, which empties it after reporting ready.
inline constexpr const char* kOldRootEnv = "BANGER_OLDROOT_FD";

// ---- log.cc ----
// "banger-agent: MESSAGE" on stderr (the console, or the service's log).
void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Milliseconds since the kernel started (CLOCK_BOOTTIME).
uint64_t uptime_ms();
// With banger.debug on the kernel command line: "banger-agent: [UPTIME ms] STEP".
extern bool g_trace;
void trace(const char* step);
uint64_t monotonic_us();

// ---- cmdline.cc ----
// The kernel command line as key -> value ("ro" -> "").
using Cmdline = std::map<std::string, std::string>;
Cmdline read_cmdline();
std::string cmdline_get(const Cmdline& c, const std::string& key, const std::string& fallback = "");
std::string read_small_file(const std::string& path);
std::vector<std::string> split(const std::string& s, char sep);

// ---- grow.cc ----
// Grows the ext4 filesystem mounted at `mountpoint` to fill `device` (a
// disk made larger than its image, `--disk`); logs what it did.
void grow_root(const std::string& device, const std::string& mountpoint);

// ---- stage1.cc ----
// PID 1 in the initramfs: modules, root disk, switch_root, exec the agent.
[[noreturn]] void run_stage1();
// Loads the modules listed in kModulesList, in order, from the initramfs
// whose root is `root_fd`: all of them, only those needed before the agent
// is ready (early), or the rest (late: vsock, rng).
enum class ModulePhase { all, early, late };
void load_modules(int root_fd, ModulePhase phase);
// Stage 1's early modules: the virtio core and the disk's chain here, the
// network's and the console's in child processes (side by side under a
// 2-vCPU guest). finish_modules waits for those, loading again in order
// any chain that failed.
struct ModuleLane {
  pid_t pid = -1;
  std::vector<std::string> paths;
};
// `network`: whether the VM has a NIC (banger.ip= given); without one the
// network chain is not loaded. `mounts`: whether the VM has live mounts
// (banger.mounts= given); without any, fuse and virtiofs are not loaded.
std::vector<ModuleLane> start_early_modules(int root_fd, bool network, bool mounts);
void finish_modules(int root_fd, std::vector<ModuleLane>& lanes);
// Deletes everything on the initramfs through a descriptor of its root
// (files only on that filesystem), then closes it.
void free_initramfs(int fd);

// ---- system.cc ----
// PID 1 in the root filesystem: mounts, hostname, network.
void setup_system(const Cmdline& c);
// setup_system brings the network up in a child process: commands call
// wait_for_network first; the agent's reaper reports the child's exit.
void wait_for_network();
// Reads the loader, the C library and the shell into the page cache.
void prefetch_command_basics();
void network_setup_reaped(pid_t pid);
bool is_mountpoint(const std::string& path);

// ---- mounts.cc ----
// Mounts each virtiofs share banger.mounts=TAG:GUEST[:ro],... names (made
// if missing). A share that cannot be mounted ends the boot: the VM powers
// off with the reason on the console.
void mount_shares(const Cmdline& c);

// ---- workspace.cc ----
// Mounts the workspace disk where banger.workspace= says (if it does),
// unless banger.workspace_later says it is still being written.
void mount_workspace(const Cmdline& c);
// The --mount-workspace tool (proto/boot.h): the same, now that the host
// has finished the disk. Returns the exit code.
int tool_mount_workspace();
void mount_fs(const char* source, const char* target, const char* type, unsigned long flags, const char* data,
              int mode = 0755);
// Stops every process, syncs, unmounts and powers off (or reboots). As a
// service (not PID 1) it only syncs and asks the kernel to power off.
[[noreturn]] void shutdown_system(bool reboot, bool pid1);

// ---- net.cc ----
// lo up; then banger.ip=ADDR/PREFIX banger.gw=GW banger.dns=IP[,IP]
// banger.iface=DEV (or the kernel's ip=CLIENT::GW:MASK:HOST:DEV:off:DNS0:DNS1).
void setup_network(const Cmdline& c);
// After a restore: the NIC gets `mac` (if given), then `address` (CIDR) and
// the default route via `gateway`. Returns what failed, or "".
std::string renumber_network(const std::string& address, const std::string& gateway, const std::string& mac);

// ---- identity.cc ----
// Applies a restored VM's new identity (proto::Identity); returns what
// failed, or "".
struct IdentityResult {
  std::string error;
  std::string hostname;  // the hostname now
};
IdentityResult apply_identity(const std::string& payload);

// ---- channel.cc ----
// Finds the virtio-serial port named banger.agent and opens it (non-blocking),
// waiting for it to appear. Returns -1 after `timeout_ms` (-1: forever).
int open_channel(int timeout_ms);

// ---- server.cc ----
struct BootInfo {
  uint64_t init_uptime_ms = 0;  // when the first init started
  std::string mode;             // "pid1" or "service"
  int oldroot_fd = -1;          // the initramfs to free after ready
};
// Serves the channel until a poweroff request; does not return for PID 1.
void serve(const BootInfo& boot);

}  // namespace banger::agent
