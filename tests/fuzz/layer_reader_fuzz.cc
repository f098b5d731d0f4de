// Fuzzes a layer as a registry may send it: compression sniffing (plain,
// gzip, zstd), libarchive's tar parsing and every entry's name cleaning and
// data, the way flatten reads a layer. Corrupt input must end in banger's
// error naming the layer, never a crash or unbounded memory.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "host/core/error.h"
#include "host/layers/layer_reader.h"
#include "host/layers/tar_path.h"

using namespace banger;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("layer", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (::write(fd, data, size) != static_cast<ssize_t>(size) || lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return 0;
  }
  layers::Layer layer;
  layer.fd = fd;
  layer.digest = "sha256:fuzz";
  try {
    layers::LayerReader reader(layer);
    while (archive_entry* e = reader.next()) {
      if (const char* name = archive_entry_pathname(e)) {
        try {
          (void)layers::clean_tar_path(name);
        } catch (const Error&) {
        }
      }
      const void* buf;
      size_t len;
      int64_t offset;
      while (reader.data(&buf, &len, &offset)) {
      }
    }
  } catch (const Error&) {
  }
  ::close(fd);
  return 0;
}
