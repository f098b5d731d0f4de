#include "host/layers/flatten.h"

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/core/interrupt.h"
#include "host/layers/tar_path.h"

namespace banger::layers {
namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

ext4::Timespec ts(bool set, time_t sec, long nsec, const ext4::Timespec& fallback) {
  if (!set) return fallback;
  return ext4::Timespec{static_cast<int64_t>(sec), static_cast<uint32_t>(nsec)};
}

// A tar number that must fit ext4's 32-bit field: refused, never wrapped
// (a gid of 2^32 would become 0, root's group).
uint32_t id_of(la_int64_t v, const char* what, const std::string& path) {
  if (v < 0 || v > 0xffffffffLL)
    fail(ErrorKind::invalid_input,
         "/" + path + ": " + what + " " + std::to_string(v) + " is out of range (0 to 4294967295)",
         "the layer is malformed or malicious; nothing of it was applied");
  return static_cast<uint32_t>(v);
}

ext4::Meta meta_of(archive_entry* e, const std::string& path) {
  ext4::Meta m;
  m.mode = static_cast<uint32_t>(archive_entry_perm(e)) & 07777;
  m.uid = id_of(archive_entry_uid(e), "uid", path);
  m.gid = id_of(archive_entry_gid(e), "gid", path);
  m.mtime = ts(archive_entry_mtime_is_set(e), archive_entry_mtime(e), archive_entry_mtime_nsec(e), {});
  m.atime = ts(archive_entry_atime_is_set(e), archive_entry_atime(e), archive_entry_atime_nsec(e), m.mtime);
  m.ctime = ts(archive_entry_ctime_is_set(e), archive_entry_ctime(e), archive_entry_ctime_nsec(e), m.mtime);
  if (archive_entry_xattr_reset(e) > 0) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      m.xattrs.push_back(ext4::Xattr{name, std::string(static_cast<const char*>(value), size)});
    }
  }
  return m;
}

void copy_data(ext4::Writer& w, LayerReader& r, const std::string& path, uint64_t size,
               const std::function<void()>& tick) {
  uint64_t pos = 0;
  const void* buf = nullptr;
  size_t len = 0;
  int64_t off = 0;
  auto fill_to = [&](uint64_t target) {  // a hole of a sparse file stays one
    if (target > pos) w.skip(target - pos);
    pos = std::max(pos, target);
  };
  while (r.data(&buf, &len, &off)) {
    if (off < 0 || static_cast<uint64_t>(off) < pos) {
      fail(ErrorKind::invalid_input, "/" + path + ": sparse file data out of order");
    }
    fill_to(static_cast<uint64_t>(off));
    w.write(buf, len);
    pos += len;
    tick();
  }
  fill_to(size);
}

void apply_entry(ext4::Writer& w, LayerReader& r, archive_entry* e, uint32_t index,
                 const std::function<void()>& tick) {
  const char* raw = archive_entry_pathname(e);
  if (!raw) fail(ErrorKind::invalid_input, "an entry has no name");
  std::string path = clean_tar_path(raw);
  size_t slash = path.rfind('/');
  std::string_view base =
      slash == std::string::npos ? std::string_view(path) : std::string_view(path).substr(slash + 1);
  std::string_view dir =
      slash == std::string::npos ? std::string_view() : std::string_view(path).substr(0, slash);
  if (base.substr(0, kWhiteout.size()) == kWhiteout) {
    if (base == kOpaque) {
      w.prune(dir, index);
    } else if (base.substr(0, 2 * kWhiteout.size()) == ".wh..wh.") {
      // Other AUFS bookkeeping (.wh..wh.plnk, ...): not content.
    } else {
      std::string target =
          std::string(dir) + (dir.empty() ? "" : "/") + std::string(base.substr(kWhiteout.size()));
      w.remove(target);
    }
    return;
  }
  if (const char* link = archive_entry_hardlink(e)) {
    w.link(path, clean_tar_path(link));
    return;
  }
  ext4::Meta m = meta_of(e, path);
  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      m.type = ext4::FileType::directory;
      w.mkdir(path, m);
      return;
    case AE_IFREG: {
      m.type = ext4::FileType::regular;
      la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
      if (size < 0) fail(ErrorKind::invalid_input, "/" + path + ": negative size");
      // A sparse entry keeps its holes: blocks only under its data.
      std::vector<ext4::Writer::DataRange> map;
      if (archive_entry_sparse_reset(e) > 0) {
        la_int64_t off = 0, len = 0;
        while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
          if (off < 0 || len < 0) fail(ErrorKind::invalid_input, "/" + path + ": negative sparse map entry");
          map.push_back({static_cast<uint64_t>(off), static_cast<uint64_t>(len)});
        }
      }
      w.begin_file(path, m, static_cast<uint64_t>(size), map.empty() ? nullptr : &map);
      copy_data(w, r, path, static_cast<uint64_t>(size), tick);
      w.end_file();
      return;
    }
    case AE_IFLNK: {
      m.type = ext4::FileType::symlink;
      const char* target = archive_entry_symlink(e);
      w.symlink(path, m, target ? target : "");
      return;
    }
    case AE_IFCHR:
    case AE_IFBLK:
      m.type =
          archive_entry_filetype(e) == AE_IFCHR ? ext4::FileType::char_device : ext4::FileType::block_device;
      {
        // Linux device numbers: 12-bit major, 20-bit minor (what ext4's
        // inode encoding holds); anything larger would silently alias.
        uint64_t major = archive_entry_rdevmajor(e), minor = archive_entry_rdevminor(e);
        if (major > 0xfff || minor > 0xfffff)
          fail(ErrorKind::invalid_input,
               "/" + path + ": device " + std::to_string(major) + ":" + std::to_string(minor) +
                   " is out of range (major up to 4095, minor up to 1048575)",
               "the layer is malformed or malicious; nothing of it was applied");
        m.dev_major = static_cast<uint32_t>(major);
        m.dev_minor = static_cast<uint32_t>(minor);
      }
      w.mknod(path, m);
      return;
    case AE_IFIFO:
      m.type = ext4::FileType::fifo;
      w.mknod(path, m);
      return;
    case AE_IFSOCK:
      return;  // sockets are runtime objects; tar tools skip them too
    default:
      fail(ErrorKind::invalid_input, "\"" + std::string(raw) + "\": unknown entry type");
  }
}

}  // namespace

void apply_layer(ext4::Writer& w, LayerReader& r, const Layer& layer, uint32_t index,
                 const ApplyCallback& progress, uint64_t* entries) {
  w.set_tag(index);
  uint64_t count = 0;
  uint64_t last_report = 0;
  // Called per entry and per data block: Ctrl-C, and progress every MiB.
  auto tick = [&] {
    check_interrupted();
    if (!progress) return;
    uint64_t done = r.bytes_read();
    if (done - last_report < (1u << 20)) return;
    last_report = done;
    progress(ApplyProgress{index, done, r.bytes_total(), entries ? *entries : count});
  };
  try {
    while (archive_entry* e = r.next()) {
      tick();
      apply_entry(w, r, e, index, tick);
      ++count;
      if (entries) ++*entries;
    }
  } catch (const ext4::OutOfInodes&) {
    throw;  // as it is: the build may retry with more inodes
  } catch (const Error& err) {
    if (err.kind() == ErrorKind::interrupted) throw;
    if (err.message().rfind("layer ", 0) == 0) throw;  // already names the layer
    throw err.with_context("layer " + layer.name());
  }
  if (progress) {
    progress(ApplyProgress{index, r.bytes_read(), r.bytes_total(), entries ? *entries : count});
  }
}

}  // namespace banger::layers
