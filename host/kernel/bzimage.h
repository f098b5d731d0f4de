// Sanity checks on a kernel image: a Linux bzImage carries the x86 boot
// protocol header ("HdrS" at 0x202) and a version string banger reads without
// booting it.
#pragma once

#include <string>

namespace banger::kernel {

struct BzImageInfo {
  int protocol = 0;     // boot protocol, e.g. 0x020f
  std::string version;  // "6.1.0-56-cloud-amd64" (first word of the banner)
  std::string banner;   // the whole string: "6.1.0-56-cloud-amd64 (debian-kernel@...) #1 SMP ..."
};

// Reads and checks the header of the kernel image at `path`. A missing file is
// not_found; a file that is not a bzImage is invalid_input ("PATH is not a
// Linux bzImage kernel (no \"HdrS\" boot header at offset 0x202)").
BzImageInfo inspect_bzimage(const std::string& path);

}  // namespace banger::kernel
