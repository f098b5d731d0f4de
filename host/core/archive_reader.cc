#include "host/core/archive_reader.h"

#include <new>

namespace banger {

ArchiveReader::ArchiveReader(Format format, bool filters) : a_(archive_read_new()) {
  if (!a_) throw std::bad_alloc();
  if (filters) archive_read_support_filter_all(a_);
  switch (format) {
    case Format::tar:
      archive_read_support_format_tar(a_);
      break;
    case Format::ar:
      archive_read_support_format_ar(a_);
      break;
    case Format::raw:
      archive_read_support_format_raw(a_);
      break;
    case Format::any:
      archive_read_support_format_all(a_);
      break;
  }
}

ArchiveReader::~ArchiveReader() { archive_read_free(a_); }

bool ArchiveReader::open_file(const std::string& path, size_t block) {
  return archive_read_open_filename(a_, path.c_str(), block) == ARCHIVE_OK;
}

bool ArchiveReader::open_fd(int fd, size_t block) {
  return archive_read_open_fd(a_, fd, block) == ARCHIVE_OK;
}

bool ArchiveReader::open_memory(const void* data, size_t size) {
  return archive_read_open_memory(a_, data, size) == ARCHIVE_OK;
}

bool ArchiveReader::open_callback(void* client, archive_read_callback* read) {
  return archive_read_open(a_, client, nullptr, read, nullptr) == ARCHIVE_OK;
}

std::string ArchiveReader::error(const char* fallback) const {
  const char* msg = archive_error_string(a_);
  return msg ? msg : fallback;
}

}  // namespace banger
