#include "host/vm/console.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

namespace banger::vm {

std::string tail_lines(const std::string& path, int lines) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  off_t size = lseek(fd, 0, SEEK_END);
  off_t start = size > 65536 ? size - 65536 : 0;
  std::string data(static_cast<size_t>(size - start), '\0');
  ssize_t n = pread(fd, data.data(), data.size(), start);
  close(fd);
  if (n <= 0) return {};
  data.resize(n);
  std::string clean;
  for (char c : data)
    if (c != '\r') clean.push_back(c);
  while (!clean.empty() && clean.back() == '\n') clean.pop_back();
  size_t pos = clean.size();
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) pos = clean.rfind('\n', pos - 1);
  return pos == std::string::npos ? clean : clean.substr(pos + 1);
}

std::string console_report(const std::string& console_log, const std::string& qemu_log, int lines) {
  std::string out;
  auto indent = [](const std::string& text) {
    std::string r = "  ";
    for (char c : text) {
      r.push_back(c);
      if (c == '\n') r += "  ";
    }
    return r + "\n";
  };
  std::string q = tail_lines(qemu_log, 10);
  if (!q.empty()) out += "\nqemu said:\n" + indent(q);
  std::string c = tail_lines(console_log, lines);
  if (!out.empty()) out.pop_back();  // one newline between the paragraphs
  if (c.empty()) out += "\nthe console (" + console_log + ") is empty\n";
  else out += "\nconsole (last lines of " + console_log + "):\n" + indent(c);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace banger::vm
