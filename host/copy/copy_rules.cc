#include "host/copy/copy_rules.h"

#include "host/core/error.h"

namespace banger::copy {

CopyPath parse_copy_path(const std::string& path) {
  CopyPath p;
  p.path = path;
  std::string s = path;
  if (s.size() >= 2 && s.compare(s.size() - 2, 2, "/.") == 0) {
    p.contents = p.dir_syntax = true;
    return p;
  }
  if (s.size() > 1 && s.back() == '/') p.dir_syntax = true;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  std::string base = s.substr(s.rfind('/') + 1);
  if (base.empty() || base == "." || base == "..") {
    p.contents = true;
    return p;
  }
  p.base = base;
  return p;
}

namespace {

std::string join(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace

std::string copy_target(const CopyPath& src, bool src_is_dir, const CopyPath& dest, PathKind dest_kind,
                        const std::string& src_shown, const std::string& dest_shown) {
  if (src.dir_syntax && !src_is_dir)
    fail(ErrorKind::invalid_input, src_shown + " is not a directory",
         "drop the trailing '/' or '/.' to copy a file");
  switch (dest_kind) {
    case PathKind::dir:
      return src_is_dir && src.contents ? dest.path : join(dest.path, src.base);
    case PathKind::other:
      if (src_is_dir)
        fail(ErrorKind::invalid_input,
             "cannot copy the directory " + src_shown + " onto the file " + dest_shown,
             "name a directory, or a path that does not exist yet");
      if (dest.dir_syntax)
        fail(ErrorKind::invalid_input, dest_shown + " is not a directory",
             "drop the trailing '/' to overwrite the file");
      return dest.path;
    case PathKind::missing:
      if (!src_is_dir && dest.dir_syntax) return join(dest.path, src.base);
      return dest.path;
  }
  return dest.path;
}

}  // namespace banger::copy
