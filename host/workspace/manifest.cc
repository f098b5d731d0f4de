#include "host/workspace/manifest.h"

#include <cstdlib>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/workspace/git_blob.h"

namespace banger::workspace {

namespace {

// One record per entry, NUL-terminated (paths are bytes, any but NUL):
// "banger-workspace-manifest 1\n", then "TYPE MODE SIZE BLOB PATH\0" with
// TYPE f or l, MODE octal, SIZE decimal.
constexpr const char* kHeader = "banger-workspace-manifest 1\n";

}  // namespace

void save_manifest(const std::string& path, const Tree& tree) {
  std::string out = kHeader;
  char num[64];
  for (const auto& [p, e] : tree) {
    snprintf(num, sizeof num, "%c %o %llu ", e.symlink ? 'l' : 'f', e.mode,
             static_cast<unsigned long long>(e.size));
    out += num;
    out += e.blob;
    out += ' ';
    out += p;
    out += '\0';
  }
  fs::write_file_atomic(path, out, 0600);
}

Tree load_manifest(const std::string& path) {
  std::string data = fs::read_file(path);
  auto bad = [&](const std::string& why) -> void {
    fail(ErrorKind::invalid_input, "the workspace manifest " + path + " is not valid: " + why,
         "the VM's workspace cannot be compared; create the VM again");
  };
  std::string header = kHeader;
  if (data.compare(0, header.size(), header) != 0) bad("no manifest header");
  Tree tree;
  size_t pos = header.size();
  while (pos < data.size()) {
    size_t nul = data.find('\0', pos);
    if (nul == std::string::npos) bad("a truncated record");
    std::string rec = data.substr(pos, nul - pos);
    pos = nul + 1;
    TreeEntry e;
    char type = 0;
    unsigned mode = 0;
    unsigned long long size = 0;
    int used = 0;
    if (sscanf(rec.c_str(), "%c %o %llu %n", &type, &mode, &size, &used) != 3 || (type != 'f' && type != 'l'))
      bad("a malformed record");
    std::string rest = rec.substr(static_cast<size_t>(used));
    if (rest.size() < 42 || rest[40] != ' ' || !is_object_id(rest.substr(0, 40))) bad("a malformed blob id");
    e.symlink = type == 'l';
    e.mode = mode & 0777;
    e.size = size;
    e.blob = rest.substr(0, 40);
    tree[rest.substr(41)] = e;
  }
  return tree;
}

}  // namespace banger::workspace
