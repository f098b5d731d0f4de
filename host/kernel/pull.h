// Getting a kernel into a kernel directory (see resolve.h for the layout),
// from one of the catalog's sources:
//   {"source": "apt", "package": "linux-image-cloud-amd64"}
//       apt-get download (a metapackage is resolved to the linux-image-<ver>
//       package it depends on), unpacked with libarchive, no dpkg;
//   {"source": "url", "url": "https://...", "sha256": "<hex>"}
//       a .deb, a tar archive (vmlinuz* / boot/vmlinuz-*, lib/modules/<ver>/)
//       or a bare bzImage, verified before use;
//   {"source": "local", "kernel": PATH, "initrd": PATH, "modules": DIR}
//       copied like import_kernel().
// The caller passes a fresh staging directory and publishes it (rename) after
// the call returns; on error the directory may hold partial files.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "host/kernel/resolve.h"

namespace banger::kernel {

Manifest pull(const std::string& name, const nlohmann::json& entry, const std::string& dest_dir);

struct ImportSpec {
  std::string kernel;   // required
  std::string initrd;   // optional
  std::string modules;  // optional: lib/modules/<version> (or lib/modules)
};

// Copies a kernel (and optional initrd and modules) into `dest_dir`, after
// checking it the way resolve() does.
Manifest import_kernel(const std::string& name, const ImportSpec& spec, const std::string& dest_dir);

// The concrete linux-image package apt would install for `package` (itself
// when it is not a metapackage) and its version: runs apt-cache.
struct AptPackage {
  std::string name;
  std::string version;
};
AptPackage apt_resolve_package(const std::string& package);

// Unpacks a Debian kernel package into `dest_dir`: boot/vmlinuz-* as
// `vmlinuz`, lib/modules/<version>/ as `modules/<version>/`. Returns the
// manifest (not yet written).
Manifest unpack_kernel_deb(const std::string& deb_path, const std::string& dest_dir);

}  // namespace banger::kernel
