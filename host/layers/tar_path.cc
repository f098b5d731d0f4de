#include "host/layers/tar_path.h"

#include <vector>

#include "host/core/error.h"

namespace banger::layers {

std::string clean_tar_path(std::string_view name, std::string_view root) {
  const char* hint = "the layer is malformed or malicious; nothing of it was applied";
  auto quoted = [&] { return "\"" + std::string(name) + "\""; };
  if (name.empty()) fail(ErrorKind::invalid_input, "an entry has an empty name", hint);
  if (name[0] == '/') fail(ErrorKind::invalid_input, quoted() + ": absolute path", hint);
  if (name.size() > 4095) {
    fail(ErrorKind::invalid_input,
         "\"" + std::string(name.substr(0, 64)) + "...\": path longer than 4095 bytes", hint);
  }
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view comp = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (parts.empty())
        fail(ErrorKind::invalid_input, quoted() + ": path leaves " + std::string(root), hint);
      parts.pop_back();
      continue;
    }
    if (comp.size() > 255) {
      fail(ErrorKind::invalid_input, quoted() + ": a name is longer than 255 bytes", hint);
    }
    if (comp.find('\0') != std::string_view::npos) {
      fail(ErrorKind::invalid_input, quoted() + ": a name contains a NUL byte", hint);
    }
    parts.push_back(comp);
  }
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

}  // namespace banger::layers
