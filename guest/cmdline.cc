#include <fcntl.h>
#include <unistd.h>

#include "guest/agent.h"

namespace banger::agent {

std::string read_small_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && out.size() < (1 << 20)) out.append(buf, n);
  close(fd);
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

Cmdline read_cmdline() {
  Cmdline c;
  std::string text = read_small_file("/proc/cmdline");
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::string word;
    bool quoted = false;
    while (i < text.size() && (quoted || !isspace(static_cast<unsigned char>(text[i])))) {
      if (text[i] == '"') quoted = !quoted;
      else word.push_back(text[i]);
      ++i;
    }
    if (word.empty()) continue;
    size_t eq = word.find('=');
    if (eq == std::string::npos) c[word] = "";
    else c[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return c;
}

std::string cmdline_get(const Cmdline& c, const std::string& key, const std::string& fallback) {
  auto it = c.find(key);
  return it == c.end() ? fallback : it->second;
}

}  // namespace banger::agent
