#include "host/oci/challenge.h"

#include <cctype>

namespace banger::oci {

Challenge parse_challenge(std::string_view h) {
  Challenge c;
  size_t sp = h.find(' ');
  std::string_view scheme = h.substr(0, sp);
  for (char ch : scheme) c.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (sp == std::string_view::npos) return c;
  std::string_view rest = h.substr(sp + 1);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == ',')) i++;
    size_t eq = rest.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(rest.substr(i, eq - i));
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    i = eq + 1;
    std::string value;
    if (i < rest.size() && rest[i] == '"') {
      i++;
      while (i < rest.size() && rest[i] != '"') {
        if (rest[i] == '\\' && i + 1 < rest.size()) i++;
        value += rest[i++];
      }
      i++;
    } else {
      while (i < rest.size() && rest[i] != ',') value += rest[i++];
    }
    c.params[key] = value;
  }
  return c;
}

}  // namespace banger::oci
