#include "host/workspace/disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "host/core/error.h"
#include "host/ext4/writer.h"
#include "host/workspace/git_blob.h"

namespace banger::workspace {

namespace stdfs = std::filesystem;

namespace {

ext4::Meta meta_of(const struct stat& st, ext4::FileType type) {
  ext4::Meta m;
  m.type = type;
  m.mode = st.st_mode & 0777;
  m.mtime = {st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec)};
  m.atime = m.mtime;
  m.ctime = m.mtime;
  return m;  // owned by root in the guest, like the files of the image
}

void collect(const std::string& root, const std::string& rel, std::vector<DiskItem>& out) {
  DiskItem it;
  it.path = rel;
  if (lstat((root + "/" + rel).c_str(), &it.st) != 0) return;  // gone since the scan
  out.push_back(std::move(it));
}

void collect_dir(const std::string& root, const std::string& rel, std::vector<DiskItem>& out) {
  std::error_code ec;
  stdfs::recursive_directory_iterator it(root + "/" + rel, stdfs::directory_options::none, ec), end;
  if (ec) fail(ErrorKind::io, "reading " + root + "/" + rel + ": " + ec.message());
  collect(root, rel, out);
  for (; it != end; it.increment(ec)) {
    if (ec) fail(ErrorKind::io, "reading " + root + "/" + rel + ": " + ec.message());
    collect(root, it->path().lexically_relative(root).string(), out);
  }
}

class FileCopy {
 public:
  explicit FileCopy(size_t size) : buf_(size) {}
  // Copies the file into the writer; returns its blob id.
  std::string copy(ext4::Writer& w, const std::string& host_path, const DiskItem& it) {
    int fd = open(host_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) fail_errno("reading the workspace file " + host_path);
    struct stat st {};
    fstat(fd, &st);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    GitBlobHash h(size);
    w.begin_file(it.path, meta_of(st, ext4::FileType::regular), size);
    uint64_t done = 0;
    while (done < size) {
      ssize_t n = read(fd, buf_.data(), static_cast<size_t>(std::min<uint64_t>(buf_.size(), size - done)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        close(fd);
        fail_errno("reading the workspace file " + host_path);
      }
      if (n == 0) {
        // Shrunk while copied: the rest is zeros, and the manifest says so.
        std::fill(buf_.begin(), buf_.end(), 0);
        n = static_cast<ssize_t>(std::min<uint64_t>(buf_.size(), size - done));
      }
      w.write(buf_.data(), static_cast<size_t>(n));
      h.update(buf_.data(), static_cast<size_t>(n));
      done += static_cast<uint64_t>(n);
    }
    close(fd);
    w.end_file();
    return h.finish();
  }

 private:
  std::vector<char> buf_;
};

}  // namespace

uint64_t default_disk_size(uint64_t content_bytes, uint64_t entries) {
  return std::max<uint64_t>(4 * ext4::kGiB, ext4::default_image_size(content_bytes * 2, entries * 4 + 65536));
}

DiskPlan plan_disk(const Source& source, uint64_t size) {
  DiskPlan plan;
  plan.items.reserve(source.paths.size());
  for (const auto& p : source.paths) collect(source.dir, p, plan.items);
  plan.work_items = plan.items.size();
  if (source.git) collect_dir(source.dir, ".git", plan.items);
  uint64_t content = 0;
  for (const auto& it : plan.items) content += (static_cast<uint64_t>(it.st.st_size) + 4095) / 4096 * 4096;
  if (size == 0) size = default_disk_size(content, plan.items.size());
  ext4::check_image_size(size);
  plan.size = size / 4096 * 4096;  // what mkfs makes of it
  return plan;
}

Tree write_disk(const Source& source, const DiskPlan& plan, const std::string& image, DiskStats* stats) {
  const std::vector<DiskItem>& items = plan.items;
  size_t work_items = plan.work_items;
  ext4::WriterOptions o;
  o.size = plan.size;
  // No journal: the host reads the disk back with libext2fs, which does not
  // replay one; a throwaway workspace gains nothing from it.
  o.journal = false;
  o.label = "banger-work";
  o.in_place = true;  // made at its final size (workspace.cc): a VMM may have it open
  Tree tree;
  try {
    ext4::Writer w(image, o);
    FileCopy copy(1 << 20);
    for (size_t i = 0; i < items.size(); ++i) {
      const DiskItem& it = items[i];
      std::string host_path = source.dir + "/" + it.path;
      TreeEntry e;
      if (S_ISDIR(it.st.st_mode)) {
        w.mkdir(it.path, meta_of(it.st, ext4::FileType::directory));
        continue;
      }
      if (S_ISREG(it.st.st_mode)) {
        e.blob = copy.copy(w, host_path, it);
        e.mode = it.st.st_mode & 0777;
        e.size = static_cast<uint64_t>(it.st.st_size);
      } else if (S_ISLNK(it.st.st_mode)) {
        std::vector<char> target(4097);
        ssize_t n = readlink(host_path.c_str(), target.data(), target.size());
        if (n < 0 || n > 4096) fail_errno("reading the workspace symlink " + host_path);
        std::string t(target.data(), static_cast<size_t>(n));
        w.symlink(it.path, meta_of(it.st, ext4::FileType::symlink), t);
        e.symlink = true;
        e.mode = 0777;
        e.size = t.size();
        e.blob = git_blob_id(t);
      } else {
        continue;  // sockets, fifos, devices: not workspace content
      }
      if (i < work_items) tree[it.path] = e;
    }
    ext4::WriterStats ws = w.finish();
    if (stats) {
      stats->entries = ws.entries;
      stats->data_bytes = ws.data_bytes;
      stats->image_size = ws.image_size;
    }
  } catch (const Error& e) {
    unlink(image.c_str());
    throw e.with_context("building the workspace disk of " + source.dir);
  } catch (...) {
    unlink(image.c_str());
    throw;
  }
  return tree;
}

}  // namespace banger::workspace
