// Where `vm cp` puts what it copies: docker cp's rules, in one place for
// both directions (host -> guest and guest -> host).
//
//   SRC is a file:
//     DEST is a directory          -> DEST/basename(SRC)
//     DEST is a file               -> overwritten
//     DEST is missing              -> created (missing parents made);
//       DEST ending in "/"         -> made as a directory, the file copied into it
//   SRC is a directory:
//     DEST is missing              -> created, with the contents of SRC
//     DEST is a directory          -> SRC copied into it as DEST/basename(SRC);
//       SRC ending in "/." (or SRC "." "..", "/")  -> the contents of SRC go into DEST
//     DEST is a file               -> refused
//   SRC ending in "/" or "/." must be a directory.
#pragma once

#include <string>

namespace banger::copy {

enum class PathKind { missing, dir, other };

// A path as the user wrote it, with what its spelling says.
struct CopyPath {
  std::string path;         // as given
  std::string base;         // its last name ("" for "/", ".", "..", "DIR/.")
  bool contents = false;    // "DIR/.", ".", "..", "/": the directory's contents, not itself
  bool dir_syntax = false;  // ends in "/" or "/.": must be (or become) a directory
};

CopyPath parse_copy_path(const std::string& path);

// Where the copied root lands; throws invalid_input when the rules refuse
// (a directory onto a file, a file where a directory is required). `src_shown`
// and `dest_shown` are the names errors use ("dev:/root/x", "./out").
std::string copy_target(const CopyPath& src, bool src_is_dir, const CopyPath& dest, PathKind dest_kind,
                        const std::string& src_shown, const std::string& dest_shown);

}  // namespace banger::copy
