// A TreeSink that writes a tar stream (pax where names or sizes need it)
// through a callback: a user's stdout (`vm cp VM:/x -`), or a guest's stdin
// (the agent's --tar-extract).
#pragma once

#include <archive.h>

#include <exception>
#include <functional>
#include <string>

#include "host/copy/tree.h"

namespace banger::copy {

struct TarNaming {
  // The root's name in the stream ("." or "proj"); the rest go below it.
  std::string root = ".";
  uint32_t mode_mask = 07777;  // 0777: no setuid, setgid or sticky bit leaves
  int64_t uid = 0, gid = 0;    // the owner every entry gets
};

class TarOut : public TreeSink {
 public:
  // `emit` takes each piece of the stream; what it throws comes out of the
  // call that wrote it.
  TarOut(std::function<void(std::string_view)> emit, TarNaming naming);
  ~TarOut() override;
  TarOut(const TarOut&) = delete;
  TarOut& operator=(const TarOut&) = delete;

  void add(const TreeEntry& e) override;
  void write(std::string_view data) override;
  // Writes the end of the archive.
  void finish() override;

 private:
  static la_ssize_t on_write(archive* a, void* self, const void* data, size_t n);
  [[noreturn]] void fail_archive(const std::string& doing);

  std::function<void(std::string_view)> emit_;
  TarNaming naming_;
  archive* a_;
  std::exception_ptr emit_error_;
  bool closed_ = false;
};

}  // namespace banger::copy
