// Builds layer tarballs in tests with libarchive's writer (PAX format, so
// long names and SCHILY.xattr.* work), optionally gzip or zstd compressed.
//
//   TarBuilder t;
//   t.dir("etc").file("etc/hosts", "127.0.0.1 localhost\n", {.mode = 0644});
//   t.symlink("bin", "usr/bin").hardlink("usr/bin/b", "usr/bin/a");
//   t.whiteout("etc/motd").opaque("var/cache");
//   write_file(dir + "/layer.tar.gz", t.finish(TarBuilder::gzip));
//
// Header-only: it needs libarchive, which only the test binaries that use it
// (layers, ext4 bindings) link; tar_builder.cc stays empty on purpose.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace banger::test {

struct TarAttrs {
  uint32_t mode = 0;  // 0: 0644 for files, 0755 for dirs
  int64_t uid = 0;    // wide: tests give out-of-range ids too
  int64_t gid = 0;
  int64_t mtime = 1700000000;
  long mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

class TarBuilder {
 public:
  enum Compression { none, gzip, zstd };

  TarBuilder& file(const std::string& path, const std::string& data, TarAttrs a = {}) {
    return add(path, AE_IFREG, a.mode ? a.mode : 0644, a, &data, nullptr, nullptr);
  }
  // A sparse file of `size` bytes: `data` at the given offsets (in order),
  // holes elsewhere (written as a PAX/GNU sparse entry).
  TarBuilder& sparse(const std::string& path, int64_t size,
                     const std::vector<std::pair<int64_t, std::string>>& data, TarAttrs a = {}) {
    add(path, AE_IFREG, a.mode ? a.mode : 0644, a, nullptr, nullptr, nullptr);
    archive_entry_set_size(entries_.back().first, size);
    for (const auto& d : data)
      archive_entry_sparse_add_entry(entries_.back().first, d.first,
                                     static_cast<la_int64_t>(d.second.size()));
    sparse_[entries_.size() - 1] = {size, data};
    return *this;
  }
  TarBuilder& dir(const std::string& path, TarAttrs a = {}) {
    return add(path, AE_IFDIR, a.mode ? a.mode : 0755, a, nullptr, nullptr, nullptr);
  }
  TarBuilder& symlink(const std::string& path, const std::string& target, TarAttrs a = {}) {
    return add(path, AE_IFLNK, 0777, a, nullptr, &target, nullptr);
  }
  TarBuilder& hardlink(const std::string& path, const std::string& target, TarAttrs a = {}) {
    return add(path, AE_IFREG, 0644, a, nullptr, nullptr, &target);
  }
  TarBuilder& device(const std::string& path, bool block, uint64_t major, uint64_t minor, TarAttrs a = {}) {
    major_ = major, minor_ = minor;
    return add(path, block ? AE_IFBLK : AE_IFCHR, a.mode ? a.mode : 0660, a, nullptr, nullptr, nullptr);
  }
  TarBuilder& fifo(const std::string& path, TarAttrs a = {}) {
    return add(path, AE_IFIFO, a.mode ? a.mode : 0644, a, nullptr, nullptr, nullptr);
  }
  // ".wh.NAME" next to NAME.
  TarBuilder& whiteout(const std::string& path) {
    auto slash = path.rfind('/');
    std::string w = slash == std::string::npos ? ".wh." + path
                                               : path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1);
    return file(w, "");
  }
  // "DIR/.wh..wh..opq".
  TarBuilder& opaque(const std::string& dir) { return file(dir + "/.wh..wh..opq", ""); }

  // The archive bytes.
  std::string finish(Compression c = none) {
    std::string out;
    archive* a = archive_write_new();
    archive_write_set_format_pax(a);
    if (c == gzip) archive_write_add_filter_gzip(a);
    if (c == zstd) archive_write_add_filter_zstd(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &out, nullptr, &TarBuilder::write_cb, nullptr);
    for (auto& e : entries_) {
      if (archive_write_header(a, e.first) != ARCHIVE_OK) {
        std::string msg = archive_error_string(a);
        archive_write_free(a);
        throw std::runtime_error("tar builder: " + msg);
      }
      if (!e.second.empty()) archive_write_data(a, e.second.data(), e.second.size());
      if (auto sp = sparse_.find(static_cast<size_t>(&e - entries_.data())); sp != sparse_.end()) {
        // The writer takes the whole logical file and skips the holes itself.
        static const std::string zeros(1 << 20, '\0');
        int64_t pos = 0;
        auto zero_to = [&](int64_t to) {
          for (; pos < to; pos += std::min<int64_t>(to - pos, zeros.size()))
            archive_write_data(a, zeros.data(),
                               static_cast<size_t>(std::min<int64_t>(to - pos, zeros.size())));
        };
        for (const auto& [off, bytes] : sp->second.second) {
          zero_to(off);
          archive_write_data(a, bytes.data(), bytes.size());
          pos += static_cast<int64_t>(bytes.size());
        }
        zero_to(sp->second.first);
      }
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

  ~TarBuilder() {
    for (auto& e : entries_) archive_entry_free(e.first);
  }
  TarBuilder() = default;
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

 private:
  static la_ssize_t write_cb(archive*, void* data, const void* buf, size_t n) {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  TarBuilder& add(const std::string& path, unsigned type, uint32_t mode, const TarAttrs& a,
                  const std::string* data, const std::string* symlink, const std::string* hardlink) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_uid(e, a.uid);
    archive_entry_set_gid(e, a.gid);
    archive_entry_set_mtime(e, a.mtime, a.mtime_nsec);
    if (symlink) archive_entry_set_symlink(e, symlink->c_str());
    if (hardlink) archive_entry_set_hardlink(e, hardlink->c_str());
    if (type == AE_IFCHR || type == AE_IFBLK) {
      archive_entry_set_rdevmajor(e, major_);
      archive_entry_set_rdevminor(e, minor_);
    }
    for (auto& [k, v] : a.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_entry_set_size(e, data ? static_cast<la_int64_t>(data->size()) : 0);
    entries_.emplace_back(e, data ? *data : std::string());
    return *this;
  }
  std::vector<std::pair<archive_entry*, std::string>> entries_;
  // Sparse entries (by index): logical size and data regions.
  std::map<size_t, std::pair<int64_t, std::vector<std::pair<int64_t, std::string>>>> sparse_;
  uint64_t major_ = 0, minor_ = 0;
};

}  // namespace banger::test
