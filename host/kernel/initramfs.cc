#include "host/kernel/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cstdio>
#include <memory>
#include <set>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/kernel/archive.h"

namespace banger::kernel {
namespace {

struct WriterDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

class CpioWriter {
 public:
  CpioWriter(const std::string& path, const std::string& compression, long long mtime)
      : path_(path), a_(archive_write_new()), mtime_(mtime) {
    if (!a_) fail(ErrorKind::internal, "libarchive: out of memory");
    archive_write_set_format_cpio_newc(a_.get());
    int r = ARCHIVE_OK;
    if (compression == "zstd") {
      r = archive_write_add_filter_zstd(a_.get());
    } else if (compression == "gzip") {
      r = archive_write_add_filter_gzip(a_.get());
      // No timestamp in the gzip header: same inputs, same bytes.
      if (r == ARCHIVE_OK) archive_write_set_filter_option(a_.get(), "gzip", "timestamp", nullptr);
    } else if (compression != "none") {
      fail(ErrorKind::invalid_input, "unknown initramfs compression: " + compression,
           "use \"zstd\", \"gzip\" or \"none\"");
    }
    if (r != ARCHIVE_OK) check(r, "setting up " + compression + " compression");
    archive_write_set_bytes_in_last_block(a_.get(), 1);
    check(archive_write_open_filename(a_.get(), path.c_str()), "creating");
  }

  void dir(const std::string& name) {
    if (!dirs_.insert(name).second) return;
    auto slash = name.rfind('/');
    if (slash != std::string::npos && slash > 0) dir(name.substr(0, slash));
    header(name, AE_IFDIR | 0755, 0, 0);
  }

  void file(const std::string& name, const std::string& data, int mode) {
    parents(name);
    header(name, AE_IFREG | mode, data.size(), 0);
    if (!data.empty()) {
      la_ssize_t n = archive_write_data(a_.get(), data.data(), data.size());
      if (n < 0 || size_t(n) != data.size()) check(ARCHIVE_FATAL, "writing " + name);
    }
    content_bytes_ += data.size();
  }

  void chardev(const std::string& name, int mode, unsigned maj, unsigned min) {
    parents(name);
    header(name, AE_IFCHR | mode, 0, makedev(maj, min));
  }

  void close() { check(archive_write_close(a_.get()), "finishing"); }

  unsigned long long content_bytes() const { return content_bytes_; }

 private:
  void parents(const std::string& name) {
    auto slash = name.rfind('/');
    if (slash != std::string::npos && slash > 0) dir(name.substr(0, slash));
  }

  void header(const std::string& name, int mode, size_t size, dev_t rdev) {
    std::unique_ptr<struct archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_mode(e.get(), mode_t(mode));
    archive_entry_set_size(e.get(), la_int64_t(size));
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), time_t(mtime_), 0);
    archive_entry_set_ino64(e.get(), ++ino_);
    archive_entry_set_nlink(e.get(), (mode & AE_IFMT) == AE_IFDIR ? 2 : 1);
    archive_entry_set_dev(e.get(), 0);
    if (rdev) archive_entry_set_rdev(e.get(), rdev);
    check(archive_write_header(a_.get(), e.get()), "adding " + name);
  }

  void check(int r, const std::string& doing) {
    if (r >= ARCHIVE_WARN) return;
    const char* msg = archive_error_string(a_.get());
    fail(ErrorKind::io,
         "building initramfs " + path_ + ": " + doing + ": " + (msg ? msg : "libarchive error"));
  }

  std::string path_;
  std::unique_ptr<struct archive, WriterDeleter> a_;
  long long mtime_;
  long long ino_ = 0;
  unsigned long long content_bytes_ = 0;
  std::set<std::string> dirs_;
};

std::string strip_compression_suffix(std::string p) {
  for (const char* ext : {".xz", ".zst", ".gz"}) {
    std::string_view e(ext);
    if (p.size() > e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0) {
      p.resize(p.size() - e.size());
      break;
    }
  }
  return p;
}

std::string basename_of(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

std::string initramfs_module_path(const std::string& version, const std::string& rel) {
  return "/lib/modules/" + version + "/" + strip_compression_suffix(rel);
}

InitramfsResult build_initramfs(const InitramfsOptions& opts) {
  if (opts.init.empty()) {
    fail(ErrorKind::invalid_input, "initramfs: no init binary given",
         "pass the path of the guest agent (build/banger-agent)");
  }
  if (opts.out.empty()) fail(ErrorKind::invalid_input, "initramfs: no output path given");
  struct stat st {};
  if (::stat(opts.init.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    fail(ErrorKind::not_found, "initramfs: init binary not found: " + opts.init,
         "build the guest agent (cmake --build build --target banger-agent) or pass its path");
  }
  InitramfsResult result;
  result.version = opts.version;
  if (!opts.modules_dir.empty()) {
    if (result.version.empty()) result.version = basename_of(opts.modules_dir);
    auto index = ModuleIndex::scan(opts.modules_dir);
    result.modules = load_order(index, opts.modules, opts.optional_modules);
  }

  std::string tmp = opts.out + ".tmp-" + std::to_string(::getpid());
  try {
    CpioWriter w(tmp, opts.compression, opts.mtime);
    for (const char* d : {"dev", "proc", "sys", "run", "tmp", "newroot", "etc/banger"}) w.dir(d);
    w.chardev("dev/console", 0600, 5, 1);
    w.chardev("dev/null", 0666, 1, 3);
    w.file("init", fs::read_file(opts.init), 0755);
    std::string list;
    for (const auto& m : result.modules) {
      check_interrupted();
      std::string src = opts.modules_dir + "/" + m.path;
      std::string dest = initramfs_module_path(result.version, m.path);
      w.file(dest.substr(1), decompress_raw(fs::read_file(src), src), 0644);
      list += dest + "\n";
    }
    w.file("etc/banger/modules", list, 0644);
    w.file("etc/banger/kernel-version", result.version + "\n", 0644);
    w.close();
    result.content_bytes = w.content_bytes();
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (::rename(tmp.c_str(), opts.out.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    fail_errno("publishing initramfs " + opts.out);
  }
  if (::stat(opts.out.c_str(), &st) == 0) result.bytes = (unsigned long long)st.st_size;
  result.path = opts.out;
  spdlog::debug("initramfs {}: {} modules, {} bytes ({} uncompressed, {})", opts.out, result.modules.size(),
                result.bytes, result.content_bytes, opts.compression);
  return result;
}

}  // namespace banger::kernel
