// Kernel module metadata without depmod: each module's ELF `.modinfo` section
// (name=, depends=, softdep=, vermagic=) gives the load order the guest needs,
// since Debian's kernel package ships no modules.dep.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace banger::kernel {

struct ModInfo {
  std::string name;                      // name=, the module's canonical name
  std::vector<std::string> depends;      // depends=, hard dependencies
  std::vector<std::string> softdep_pre;  // softdep= "pre:" names, loaded first if present
  std::string vermagic;                  // "6.1.0-56-cloud-amd64 SMP preempt ..."
};

// Parses the .modinfo section of an ELF64 little-endian module image (already
// decompressed). `what` names the module in errors (invalid_input).
ModInfo parse_modinfo(const std::string& elf, const std::string& what);

// Reads a .ko / .ko.xz / .ko.zst / .ko.gz file and parses its .modinfo.
ModInfo read_modinfo(const std::string& path);

// The modules of one kernel version: a directory like lib/modules/<version>.
struct ModuleIndex {
  std::string dir;
  // module name ("virtio_rng") -> path relative to `dir`
  // ("kernel/drivers/char/hw_random/virtio-rng.ko").
  std::map<std::string, std::string> files;
  // Names of modules built into the kernel (from modules.builtin, if present).
  std::set<std::string> builtin;

  // Lists the module files under `dir` (never following symlinks). A missing
  // directory is not_found.
  static ModuleIndex scan(const std::string& dir);
};

struct ModuleLoad {
  std::string name;
  std::string path;  // relative to the index's dir
};

// The modules to load, dependencies first (depends= and softdep pre:), for
// the `required` names and those `optional` names the kernel has. A required
// module that is neither a file nor built in, or a missing dependency, is
// not_found; built-in modules are left out (nothing to load).
std::vector<ModuleLoad> load_order(const ModuleIndex& index, const std::vector<std::string>& required,
                                   const std::vector<std::string>& optional = {});

// The module names a banger guest needs, and those it uses where present.
const std::vector<std::string>& default_guest_modules();
const std::vector<std::string>& optional_guest_modules();

}  // namespace banger::kernel
