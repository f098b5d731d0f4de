// The Debian cloud kernel for tests, fetched once per machine through apt and
// cached, so every test that boots a VM reuses the same files.
//
// Cache: $BANGER_TEST_CACHE/kernels/debian-cloud, else
// <build dir>/test-cache/kernels/debian-cloud. The directory has the layout of
// a banger kernel directory (host/kernel/resolve.h): kernel.json, vmlinuz,
// modules/<version>/, plus the downloaded package.deb. Concurrent test
// processes wait on a lock file; the first one downloads (about 27 MB).
//
// This file uses only host/core (so it links into every test binary): it
// unpacks with dpkg-deb, while banger itself uses libarchive.
#pragma once

#include <string>

namespace banger::test {

struct KernelFixture {
  std::string dir;              // the kernel directory
  std::string kernel;           // DIR/vmlinuz (bzImage)
  std::string modules;          // DIR/modules/<version>
  std::string version;          // "6.1.0-56-cloud-amd64"
  std::string package;          // "linux-image-6.1.0-56-cloud-amd64"
  std::string package_version;  // "6.1.192-2"
  std::string deb;              // DIR/package.deb
};

// The test cache root ($BANGER_TEST_CACHE or <build dir>/test-cache), created.
std::string test_cache_dir();

// Fetches (first call on this machine) or finds the cached Debian cloud
// kernel. Throws banger::Error when apt cannot get it.
const KernelFixture& debian_cloud_kernel();

}  // namespace banger::test
