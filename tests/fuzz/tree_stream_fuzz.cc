// Fuzzes what `vm cp` does with a guest's tar stream: read_tar checks each
// entry and a DiskTree writes it under a scratch destination. Whatever the
// bytes, nothing may appear outside the destination, and a stream that is
// refused leaves nothing at all (no destination, no staging directory).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "host/copy/disk_tree.h"
#include "host/copy/tar_in.h"
#include "host/core/archive_reader.h"
#include "host/core/error.h"
#include "host/core/fs.h"

namespace stdfs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string scratch = banger::fs::make_temp_dir(
      stdfs::exists("/dev/shm") ? "/dev/shm" : stdfs::temp_directory_path().string(), "banger-fuzz-tree");
  const std::string box = scratch + "/box", dest = box + "/out";
  banger::fs::make_dirs(box);
  bool ok = true;
  try {
    banger::ArchiveReader in(banger::ArchiveReader::Format::tar, false);
    if (!in.open_memory(data, size)) throw banger::Error(banger::ErrorKind::io, "unreadable");
    banger::copy::DiskTree sink([&](bool) { return dest; }, "fuzz", "the fuzzer", "");
    banger::copy::TarSource src{"fuzz", "the fuzzer", "", true, 10000};
    banger::copy::read_tar(in, sink, src);
    sink.finish();
  } catch (const banger::Error&) {
    ok = false;
  }
  for (const auto& e : stdfs::recursive_directory_iterator(scratch)) {
    const std::string p = e.path().string();
    if (p == box) continue;
    if (!ok || (p != dest && p.rfind(dest + "/", 0) != 0)) abort();
  }
  banger::fs::remove_all(box);
  return 0;
}
