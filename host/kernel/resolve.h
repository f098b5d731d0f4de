// A kernel as banger stores it, and resolving a kernel spec to checked files.
//
// A kernel directory ($BANGER_HOME/kernels/NAME/, made by pull() or
// import_kernel() in a staging dir the caller publishes) holds:
//   kernel.json           the manifest below (paths relative to the directory)
//   vmlinuz               the bzImage
//   initrd.img            only for imported kernels that came with an initrd
//   modules/<version>/    the kernel's lib/modules/<version> tree
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace banger::kernel {

struct Manifest {
  std::string name;
  std::string version;         // "6.1.0-56-cloud-amd64"
  std::string source;          // "apt", "url" or "local"
  std::string origin;          // the package ("linux-image-6.1.0-56-cloud-amd64"), URL or path
  std::string origin_version;  // the package version ("6.1.192-2"), or the sha256
  std::string kernel = "vmlinuz";
  std::string initrd;            // "" when the kernel has none
  std::string modules;           // "modules/<version>", "" when none
  unsigned long long bytes = 0;  // disk use of the directory

  nlohmann::json to_json() const;
  static Manifest from_json(const nlohmann::json& j, const std::string& what);
};

// Reads DIR/kernel.json (not_found if missing, invalid_input if unreadable).
Manifest read_manifest(const std::string& dir);
void write_manifest(const std::string& dir, const Manifest& m);

struct KernelSpec {
  std::string name;    // catalog / store name; used in messages and hints
  std::string dir;     // a kernel directory with kernel.json
  std::string kernel;  // explicit paths, overriding the directory's
  std::string initrd;
  std::string modules;  // a lib/modules/<version> directory (or its parent)
};

// The checked triple a VM boots with. Paths are absolute; initrd and modules
// may be empty.
struct Triple {
  std::string kernel;
  std::string initrd;
  std::string modules;
  std::string version;
  std::string banner;  // the kernel's version banner
  nlohmann::json to_json() const;
};

// Checks every file: the kernel exists and is a bzImage, the initrd exists,
// the modules directory exists and its modules match the kernel's version.
// Errors name the missing or bad file and say how to fix it ("run 'banger
// kernel pull NAME'", or which path argument to correct).
Triple resolve(const KernelSpec& spec);

// `dir` if it holds modules; else DIR/<version> or DIR/lib/modules/<version>
// when those exist. Lets users pass either lib/modules or lib/modules/<ver>.
std::string locate_modules_dir(const std::string& dir, const std::string& version);

}  // namespace banger::kernel
