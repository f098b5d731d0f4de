// Builds the initramfs banger boots with: a cpio (newc) archive, gzip or zstd
// compressed, holding
//   /init                          the given init binary (the guest agent), 0755
//   /lib/modules/<version>/...     the kernel modules the guest needs, decompressed (.ko)
//   /etc/banger/modules            their absolute paths in load order, one per line,
//                                  so /init can finit_module() them without modules.dep
//   /etc/banger/kernel-version     the kernel version, one line
//   /dev/console, /dev/null        device nodes; /proc, /sys, /run, /tmp, /newroot mount points
// Output is deterministic: every entry has mtime `mtime`, owner 0:0 and
// sequential inode numbers, so the same inputs give the same bytes.
#pragma once

#include <string>
#include <vector>

#include "host/kernel/modinfo.h"

namespace banger::kernel {

struct InitramfsOptions {
  std::string init;                  // path of the init binary (required)
  std::string modules_dir;           // lib/modules/<version> of the kernel; empty: no modules
  std::string version;               // default: the last component of modules_dir
  std::string out;                   // output path (written atomically)
  std::string compression = "zstd";  // "zstd", "gzip" or "none"
  // Module names; dependencies are added. Defaults: default_guest_modules()
  // and optional_guest_modules().
  std::vector<std::string> modules = default_guest_modules();
  std::vector<std::string> optional_modules = optional_guest_modules();
  long long mtime = 0;
};

struct InitramfsResult {
  std::string path;
  unsigned long long bytes = 0;          // size of the compressed archive
  unsigned long long content_bytes = 0;  // sum of the file sizes inside
  std::string version;
  std::vector<ModuleLoad> modules;  // in load order (paths relative to modules_dir)
};

// The path a module gets inside the initramfs: "/lib/modules/<version>/<rel>"
// with any .xz/.zst/.gz suffix removed.
std::string initramfs_module_path(const std::string& version, const std::string& rel);

InitramfsResult build_initramfs(const InitramfsOptions& opts);

}  // namespace banger::kernel
