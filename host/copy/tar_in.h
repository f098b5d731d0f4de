// Reads a tar stream (a guest's, or a user's on stdin) into a TreeSink,
// checking every entry first: a clean relative name (no "..", no absolute
// name, nothing over 255 bytes a name or 4095 a path), only directories,
// regular files and symlinks, exact sizes, at most kMaxTreeEntries.
#pragma once

#include <cstdint>
#include <string>

#include "host/copy/tree.h"
#include "host/core/archive_reader.h"

namespace banger::copy {

struct TarSource {
  std::string what;    // the message's start: "copying dev:/root/x to ./x"
  std::string sender;  // who made the stream: "VM 'dev'", "the tar stream on stdin"
  std::string hint;    // what to do about a bad stream
  // The stream starts with its root "." and names it once (the agent's
  // --tar-create streams); else a root entry is optional and only the first
  // one counts.
  bool root_first = true;
  uint64_t max_entries = kMaxTreeEntries;
};

// Every entry and its bytes go to `sink`; finish() is the caller's, once it
// knows the stream's producer succeeded. Returns the number of entries.
uint64_t read_tar(ArchiveReader& in, TreeSink& sink, const TarSource& src);

}  // namespace banger::copy
