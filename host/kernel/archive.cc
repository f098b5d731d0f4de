#include "host/kernel/archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "host/core/archive_reader.h"
#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"

namespace banger::kernel {
namespace {

[[noreturn]] void fail_archive(struct archive* a, const std::string& what, const std::string& doing) {
  const char* msg = archive_error_string(a);
  fail(ErrorKind::invalid_input, what + ": " + doing + ": " + (msg ? msg : "unreadable archive"),
       "the file is corrupt or not an archive; download it again");
}

std::string clean_path(const char* raw) {
  std::string p = raw ? raw : "";
  while (p.rfind("./", 0) == 0) p.erase(0, 2);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

bool has_dotdot(const std::string& p) {
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    if (p.compare(start, end - start, "..") == 0 && end - start == 2) return true;
    start = end + 1;
  }
  return false;
}

std::string parent_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

void write_entry_data(struct archive* a, const std::string& dest, int mode, const std::string& what,
                      ExtractStats& stats) {
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("creating " + dest);
  const void* buf;
  size_t size;
  la_int64_t offset;
  la_int64_t written = 0;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      ::close(fd);
      fail_archive(a, what, "reading " + dest);
    }
    check_interrupted();
    if (offset > written) {  // sparse hole
      if (::lseek(fd, offset, SEEK_SET) < 0) fail_errno("seeking in " + dest);
      written = offset;
    }
    const char* p = static_cast<const char*>(buf);
    size_t left = size;
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        fail_errno("writing " + dest);
      }
      p += n;
      left -= size_t(n);
    }
    written += la_int64_t(size);
    stats.bytes += size;
  }
  if (::ftruncate(fd, written) != 0) fail_errno("sizing " + dest);
  if (::close(fd) != 0) fail_errno("closing " + dest);
  ::chmod(dest.c_str(), mode);
  stats.files++;
}

// Walks every entry of an opened reader, extracting the ones `filter` keeps.
ExtractStats extract_from(struct archive* a, const std::string& dest_root, const EntryFilter& filter,
                          const std::string& what) {
  ExtractStats stats;
  struct archive_entry* entry;
  for (;;) {
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) fail_archive(a, what, "reading the entry list");
    check_interrupted();
    std::string path = clean_path(archive_entry_pathname(entry));
    if (path.empty()) continue;
    std::string rel = filter(path);
    if (rel.empty()) continue;
    if (rel.front() == '/' || has_dotdot(rel) || has_dotdot(path)) {
      fail(ErrorKind::invalid_input, what + ": unsafe path in archive: " + path,
           "the archive tries to write outside its directory; do not use it");
    }
    std::string dest = dest_root + "/" + rel;
    switch (archive_entry_filetype(entry)) {
      case AE_IFDIR:
        fs::make_dirs(dest, 0755);
        break;
      case AE_IFREG: {
        if (archive_entry_hardlink(entry)) break;  // kernel packages have none
        auto parent = parent_of(rel);
        if (!parent.empty()) fs::make_dirs(dest_root + "/" + parent, 0755);
        int mode = archive_entry_perm(entry) & 0755;
        write_entry_data(a, dest, mode ? mode : 0644, what, stats);
        break;
      }
      default:
        // Symlinks (lib/modules/*/build -> /usr/src/...), devices: not needed,
        // and skipping symlinks means nothing is ever written through one.
        spdlog::debug("{}: skipping non-regular entry {}", what, path);
        break;
    }
  }
  return stats;
}

// Feeds one ar member of `outer` to an inner reader.
struct InnerSource {
  struct archive* outer;
};

la_ssize_t inner_read(struct archive*, void* data, const void** buf) {
  auto* src = static_cast<InnerSource*>(data);
  static thread_local char block[256 * 1024];
  la_ssize_t n = archive_read_data(src->outer, block, sizeof(block));
  *buf = block;
  return n;
}

}  // namespace

ExtractStats extract_archive(const std::string& archive_path, const std::string& dest_root,
                             const EntryFilter& filter, const std::string& what) {
  ArchiveReader a(ArchiveReader::Format::any, true);
  if (!a.open_file(archive_path)) {
    if (!fs::exists(archive_path)) {
      fail(ErrorKind::not_found, what + ": no such file: " + archive_path);
    }
    fail_archive(a.get(), what, "opening");
  }
  return extract_from(a.get(), dest_root, filter, what);
}

ExtractStats extract_deb(const std::string& deb_path, const std::string& dest_root,
                         const EntryFilter& filter) {
  ArchiveReader outer(ArchiveReader::Format::ar, false);
  if (!outer.open_file(deb_path)) {
    if (!fs::exists(deb_path)) fail(ErrorKind::not_found, "no such package file: " + deb_path);
    fail_archive(outer.get(), deb_path, "opening the Debian package");
  }
  struct archive_entry* entry;
  for (;;) {
    int r = archive_read_next_header(outer.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) fail_archive(outer.get(), deb_path, "reading the Debian package");
    std::string name = clean_path(archive_entry_pathname(entry));
    if (name.rfind("data.tar", 0) != 0) continue;
    ArchiveReader inner(ArchiveReader::Format::tar, true);
    InnerSource src{outer.get()};
    if (!inner.open_callback(&src, inner_read)) {
      fail_archive(inner.get(), deb_path + " (" + name + ")", "opening");
    }
    return extract_from(inner.get(), dest_root, filter, deb_path + " (" + name + ")");
  }
  fail(ErrorKind::invalid_input, deb_path + ": not a Debian package (no data.tar member)",
       "download the package again with apt-get download");
}

std::string decompress_raw(const std::string& data, const std::string& what) {
  auto starts = [&](std::string_view magic) {
    return data.size() >= magic.size() && data.compare(0, magic.size(), magic) == 0;
  };
  bool compressed = starts(std::string_view("\xFD"
                                            "7zXZ\0",
                                            6)) ||
                    starts("\x28\xB5\x2F\xFD") || starts("\x1F\x8B");
  if (!compressed) return data;
  ArchiveReader a(ArchiveReader::Format::raw, true);
  if (!a.open_memory(data.data(), data.size())) {
    fail_archive(a.get(), what, "opening the compressed stream");
  }
  struct archive_entry* entry;
  if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    fail_archive(a.get(), what, "decompressing");
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf, sizeof(buf));
    if (n < 0) fail_archive(a.get(), what, "decompressing");
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

bool is_module_file(const std::string& name) {
  for (const char* ext : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"}) {
    std::string_view e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
      return true;
    }
  }
  return false;
}

std::string module_name_from_file(const std::string& name) {
  std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  auto ko = base.find(".ko");
  if (ko != std::string::npos) base.resize(ko);
  for (char& c : base) {
    if (c == '-') c = '_';
  }
  return base;
}

}  // namespace banger::kernel
