#include "host/copy/tar_in.h"

#include "host/core/error.h"
#include "host/layers/tar_path.h"

namespace banger::copy {

namespace {

[[noreturn]] void bad(const TarSource& src, const std::string& problem) {
  fail(ErrorKind::io,
       src.what + ": " + src.sender + " sent a bad tar stream: " + problem + "; nothing was written",
       src.hint);
}

TreeEntry::Type entry_type(const TarSource& src, archive_entry* e, const std::string& shown) {
  if (archive_entry_hardlink(e))
    bad(src, shown + " is a hard link (vm cp copies files, directories and symlinks)");
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      return TreeEntry::Type::file;
    case AE_IFDIR:
      return TreeEntry::Type::dir;
    case AE_IFLNK:
      return TreeEntry::Type::symlink;
    default:
      bad(src, shown + " is a device, fifo or socket (vm cp copies files, directories and symlinks)");
  }
}

}  // namespace

uint64_t read_tar(ArchiveReader& in, TreeSink& sink, const TarSource& src) {
  archive* a = in.get();
  uint64_t n = 0;
  bool root_seen = false;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    // A warning is a header libarchive did not fully understand: refused.
    if (r != ARCHIVE_OK) bad(src, in.error("unreadable tar stream"));
    if (++n > src.max_entries) bad(src, "more than " + std::to_string(src.max_entries) + " entries");
    const char* raw = archive_entry_pathname(e);
    if (!raw) bad(src, "an entry has no name");
    const std::string shown = "\"" + std::string(raw).substr(0, 200) + "\"";
    TreeEntry t;
    try {
      t.path = layers::clean_tar_path(raw, "the copied directory");
    } catch (const Error& err) {
      bad(src, err.message());
    }
    t.type = entry_type(src, e, shown);
    if (t.path.empty()) {
      if (src.root_first && root_seen) bad(src, "the root entry \".\" comes twice");
      if (!src.root_first && t.type != TreeEntry::Type::dir)
        bad(src, shown + " names the destination directory itself, and is not a directory");
      if (!src.root_first && root_seen) continue;
    } else if (src.root_first && !root_seen) {
      bad(src, "it does not start with its root entry \".\"");
    }
    root_seen = root_seen || t.path.empty();
    t.mode = archive_entry_perm(e) & 07777;
    t.mtime = archive_entry_mtime(e);
    if (t.type == TreeEntry::Type::symlink) {
      const char* link = archive_entry_symlink(e);
      if (!link || !*link) bad(src, shown + " is a symlink without a target");
      t.link = link;
      if (t.link.size() > 4095) bad(src, shown + " is a symlink whose target is longer than 4095 bytes");
    }
    if (t.type == TreeEntry::Type::file) {
      if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) bad(src, shown + " has no size");
      t.size = static_cast<uint64_t>(archive_entry_size(e));
    }
    sink.add(t);
    if (t.type != TreeEntry::Type::file) continue;
    uint64_t got = 0;
    char buf[64 * 1024];
    for (;;) {
      la_ssize_t k = archive_read_data(a, buf, sizeof buf);
      if (k == 0) break;
      if (k < 0) bad(src, shown + ": " + in.error("unreadable data"));
      got += static_cast<uint64_t>(k);
      if (got > t.size) bad(src, shown + " has more bytes than its header says");
      sink.write(std::string_view(buf, static_cast<size_t>(k)));
    }
    if (got != t.size)
      bad(src, shown + " has " + std::to_string(got) + " of the " + std::to_string(t.size) +
                   " bytes its header says");
  }
  if (src.root_first && !root_seen) bad(src, "it is empty");
  return n;
}

}  // namespace banger::copy
