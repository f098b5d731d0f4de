// File copy into and out of the guest (file_put / file_get).
#pragma once

#include <cstdint>
#include <string>

#include "proto/flow.h"
#include "proto/messages.h"

namespace banger::agent {

// An upload: data goes to a temporary file beside the target, renamed over
// it (with mode and owner set) when the host sends file_end.
struct Upload {
  int fd = -1;
  std::string path, tmp;
  proto::FilePut req;
  uint64_t received = 0;
  bool failed = false;  // an error was sent; later data is dropped
};

// Opens the temporary file; false with `error` set when it cannot.
bool begin_upload(const proto::FilePut& req, Upload& up, std::string& error);
bool write_upload(Upload& up, const std::string& data, std::string& error);
// Checks the size, sets mode and owner, renames into place.
bool finish_upload(Upload& up, std::string& error);
void abort_upload(Upload& up);

// A download: the file is read in chunks as the channel has room.
struct Download {
  int fd = -1;
  uint64_t size = 0, sent = 0;
  proto::SendWindow window;  // file_data bytes the host allows
};

bool begin_download(const std::string& path, Download& d, proto::FileInfo& info, std::string& error);

}  // namespace banger::agent
