#include "host/copy/tar_out.h"

#include <archive_entry.h>

#include <new>

#include "host/core/error.h"

namespace banger::copy {

TarOut::TarOut(std::function<void(std::string_view)> emit, TarNaming naming)
    : emit_(std::move(emit)), naming_(std::move(naming)), a_(archive_write_new()) {
  if (!a_) throw std::bad_alloc();
  archive_write_set_format_pax_restricted(a_);
  // A stream, not a tape: no padding of the last record.
  archive_write_set_bytes_in_last_block(a_, 1);
  if (archive_write_open(a_, this, nullptr, &TarOut::on_write, nullptr) != ARCHIVE_OK)
    fail_archive("starting a tar stream");
}

TarOut::~TarOut() { archive_write_free(a_); }

la_ssize_t TarOut::on_write(archive*, void* self, const void* data, size_t n) {
  auto* t = static_cast<TarOut*>(self);
  // Nothing may unwind through libarchive: the error waits for the caller.
  try {
    t->emit_(std::string_view(static_cast<const char*>(data), n));
  } catch (...) {
    t->emit_error_ = std::current_exception();
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

void TarOut::fail_archive(const std::string& doing) {
  if (emit_error_) std::rethrow_exception(emit_error_);
  const char* msg = archive_error_string(a_);
  fail(ErrorKind::io, doing + ": " + (msg ? msg : "libarchive failed"));
}

void TarOut::add(const TreeEntry& e) {
  std::string name = e.path.empty()        ? naming_.root
                     : naming_.root == "." ? e.path
                                           : naming_.root + "/" + e.path;
  archive_entry* ae = archive_entry_new();
  if (!ae) throw std::bad_alloc();
  archive_entry_set_pathname(ae, name.c_str());
  archive_entry_set_perm(ae, e.mode & naming_.mode_mask);
  archive_entry_set_mtime(ae, e.mtime, 0);
  archive_entry_set_uid(ae, naming_.uid);
  archive_entry_set_gid(ae, naming_.gid);
  switch (e.type) {
    case TreeEntry::Type::dir:
      archive_entry_set_filetype(ae, AE_IFDIR);
      break;
    case TreeEntry::Type::file:
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_size(ae, static_cast<la_int64_t>(e.size));
      break;
    case TreeEntry::Type::symlink:
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_symlink(ae, e.link.c_str());
      break;
  }
  int r = archive_write_header(a_, ae);
  archive_entry_free(ae);
  if (r < ARCHIVE_WARN) fail_archive("writing the tar entry " + name);
}

void TarOut::write(std::string_view data) {
  while (!data.empty()) {
    la_ssize_t n = archive_write_data(a_, data.data(), data.size());
    if (n <= 0) fail_archive("writing a tar stream");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void TarOut::finish() {
  if (closed_) return;
  closed_ = true;
  if (archive_write_close(a_) != ARCHIVE_OK) fail_archive("ending a tar stream");
}

}  // namespace banger::copy
