#include "host/workspace/readback.h"

#include <strings.h>

#include <set>

#include "host/core/error.h"
#include "host/workspace/git_blob.h"

namespace banger::workspace {

std::string printable(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  return out;
}

namespace {

[[noreturn]] void refuse(const ReadOptions& o, const std::string& dir, const std::string& why) {
  fail(ErrorKind::invalid_input,
       o.what + ": " + why + (dir.empty() ? " at its top" : " in '" + printable(dir) + "'") + ": refused",
       "the guest left the workspace in a state banger does not read back; nothing was exported");
}

void check_name(const ReadOptions& o, const std::string& dir, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos || name.size() > 255)
    refuse(o, dir, "an entry named '" + printable(name) + "'");
}

}  // namespace

ReadResult read_tree(ext4::Editor& disk, const ReadOptions& o) {
  ReadResult r;
  struct Dir {
    uint32_t ino;
    std::string path;
    size_t depth;
  };
  std::vector<Dir> todo = {{ext4::Editor::kRootInode, "", 0}};
  std::set<uint32_t> seen = {ext4::Editor::kRootInode};
  size_t entries = 0;
  while (!todo.empty()) {
    Dir d = todo.back();
    todo.pop_back();
    std::vector<ext4::DirEntry> list = disk.ls_at(d.ino);
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& ent = list[i];
      check_name(o, d.path, ent.name);
      if (i > 0 && list[i - 1].name == ent.name)
        refuse(o, d.path, "two entries named '" + printable(ent.name) + "'");
      if (++entries > o.max_entries) refuse(o, "", "more than " + std::to_string(o.max_entries) + " entries");
      std::string path = d.path.empty() ? ent.name : d.path + "/" + ent.name;
      if (path.size() > o.max_path)
        refuse(o, d.path, "a path longer than " + std::to_string(o.max_path) + " bytes");
      if (d.path.empty() && (ent.name == "lost+found")) continue;  // the filesystem's own
      if (o.git && strcasecmp(ent.name.c_str(), ".git") == 0) {
        if (!d.path.empty()) r.skipped.push_back(path);
        continue;
      }
      // The inode's own type, not the directory entry's (which the guest
      // could set to anything).
      ext4::Stat st = disk.stat_at(ent.ino);
      if (st.type == ext4::FileType::directory) {
        if (!seen.insert(ent.ino).second)
          refuse(o, d.path, "a directory reached twice ('" + printable(ent.name) + "')");
        if (d.depth + 1 > o.max_depth)
          refuse(o, d.path, "directories nested deeper than " + std::to_string(o.max_depth));
        todo.push_back({ent.ino, path, d.depth + 1});
        continue;
      }
      TreeEntry e;
      e.ino = ent.ino;
      if (st.type == ext4::FileType::regular) {
        if (st.size > o.max_file_bytes)
          refuse(o, d.path,
                 "a file of " + std::to_string(st.size) + " bytes ('" + printable(ent.name) +
                     "'; the limit is " + std::to_string(o.max_file_bytes) + ")");
        std::string data = disk.read_at(ent.ino, o.max_file_bytes);
        e.mode = st.mode & 0777;
        e.size = data.size();
        e.blob = git_blob_id(data);
      } else if (st.type == ext4::FileType::symlink) {
        e.symlink = true;
        e.mode = 0777;
        e.size = st.target.size();
        e.blob = git_blob_id(st.target);
      } else {
        r.skipped.push_back(path);
        continue;
      }
      r.tree[path] = e;
    }
  }
  return r;
}

std::string read_content(ext4::Editor& disk, const std::string& path, const TreeEntry& entry,
                         const ReadOptions& o) {
  std::string data =
      entry.symlink ? disk.stat_at(entry.ino).target : disk.read_at(entry.ino, o.max_file_bytes);
  if (git_blob_id(data) != entry.blob)
    fail(ErrorKind::conflict, o.what + ": '" + printable(path) + "' changed while it was read back",
         "export again once the VM's command is done (or stop the VM first)");
  return data;
}

}  // namespace banger::workspace
