// libarchive helpers for kernel packages: reading a Debian .deb without dpkg
// (ar -> data.tar.*), extracting selected entries of any archive libarchive
// reads, and decompressing a single raw stream (.ko.xz, .ko.zst, .ko.gz).
#pragma once

#include <functional>
#include <string>

namespace banger::kernel {

// What to do with one archive entry. `path` has any leading "./" or "/"
// removed. Return the destination path (relative to the extraction root) to
// extract the entry there, or an empty string to skip it.
using EntryFilter = std::function<std::string(const std::string& path)>;

struct ExtractStats {
  int files = 0;
  unsigned long long bytes = 0;
};

// Extracts regular files, directories and symlinks of the archive at
// `archive_path` (any format/filter libarchive reads) into `dest_root`, for the
// entries `filter` keeps. Never writes outside `dest_root`: paths with ".."
// are an invalid_input error. `what` names the archive in errors.
ExtractStats extract_archive(const std::string& archive_path, const std::string& dest_root,
                             const EntryFilter& filter, const std::string& what);

// Extracts from a Debian package: finds the data.tar.* member of the .deb's ar
// archive and extracts its entries as extract_archive() does.
ExtractStats extract_deb(const std::string& deb_path, const std::string& dest_root,
                         const EntryFilter& filter);

// The decompressed bytes of `data` when it is xz, zstd or gzip compressed (a
// raw stream, not an archive), otherwise `data` itself.
std::string decompress_raw(const std::string& data, const std::string& what);

// True for names ending in .ko, .ko.xz, .ko.zst or .ko.gz.
bool is_module_file(const std::string& name);
// "virtio-rng.ko.xz" -> "virtio_rng": the module name a file name implies.
std::string module_name_from_file(const std::string& name);

}  // namespace banger::kernel
