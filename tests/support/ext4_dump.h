// Checking produced ext4 images in tests: e2fsck -fn, debugfs -R (the
// independent reference), and a normalised listing of a whole tree, from an
// image (through banger's reader) or from a directory on the host (e.g. what
// `umoci unpack` produced), so the two can be compared line by line.
//
// Listing format, one line per entry, sorted by path:
//   /usr/bin/ls file 0755 0:0 size=138208 sha=<fnv64> nlink=1 [xattr=NAME:<fnv64>]...
//   /bin symlink 0777 0:0 ->usr/bin
//   /dev/null chardev 0666 0:0 dev=1,3
// Directories list no size (ext4 and other filesystems size them differently).
// Hard-link groups: each entry with nlink>1 adds "link=<first path of the group>".
// The root's lost+found (mkfs makes one, layers do not have one) is left out.
//
// image_listing() is inline (it needs host_ext4); the rest is in ext4_dump.cc
// and needs only host/core, so every test binary links.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "host/ext4/editor.h"

namespace banger::test {

struct FsckResult {
  int exit_code = 0;
  std::string output;
};
// e2fsck -fn IMAGE (exit 0 = clean).
FsckResult e2fsck(const std::string& image);
// debugfs -R COMMAND IMAGE: stdout, then stderr without debugfs's banner line.
std::string debugfs(const std::string& image, const std::string& command);
// 64-bit FNV-1a, hex: a cheap content fingerprint for listings.
std::string fnv64(const std::string& data);
// The listing of a host directory (lstat, no symlinks followed).
std::string tree_listing(const std::string& dir);

// The listing of an image, walked with banger's own reader.
inline std::string image_listing(const std::string& image_path) {
  auto img = ext4::Editor::open(image_path, false);
  std::vector<std::string> lines;
  std::map<uint32_t, std::string> first_link;  // inode -> first path seen
  std::vector<std::string> todo{"/"};
  std::vector<std::pair<std::string, ext4::Stat>> all;
  while (!todo.empty()) {
    std::string dir = todo.back();
    todo.pop_back();
    for (const auto& e : img->ls(dir)) {
      if (dir == "/" && e.name == "lost+found") continue;
      std::string p = (dir == "/" ? "" : dir) + "/" + e.name;
      auto st = img->stat(p);
      all.emplace_back(p, st);
      if (st.type == ext4::FileType::directory) todo.push_back(p);
    }
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [p, st] : all) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %04o %u:%u", st.mode, st.uid, st.gid);
    std::string line = p + " " + ext4::type_name(st.type) + buf;
    switch (st.type) {
      case ext4::FileType::regular:
        line += " size=" + std::to_string(st.size) + " sha=" + fnv64(img->read(p)) +
                " nlink=" + std::to_string(st.nlink);
        break;
      case ext4::FileType::symlink:
        line += " ->" + st.target;
        break;
      case ext4::FileType::char_device:
      case ext4::FileType::block_device:
        line += " dev=" + std::to_string(st.dev_major) + "," + std::to_string(st.dev_minor);
        break;
      default:
        break;
    }
    if (st.type != ext4::FileType::directory && st.nlink > 1) {
      auto [it, fresh] = first_link.emplace(st.ino, p);
      line += " link=" + it->second;
    }
    for (auto& x : st.xattrs) line += " xattr=" + x.name + ":" + fnv64(x.value);
    lines.push_back(line);
  }
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace banger::test
