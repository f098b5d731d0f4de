#include "host/oci/ref.h"

#include <cctype>

#include "host/core/error.h"
#include "host/oci/digest.h"

namespace banger::oci {

namespace {

constexpr std::string_view kRefHint =
    "a reference looks like debian, debian:bookworm, host:5000/a/b:tag, name@sha256:<64 hex>, "
    "oci:DIR[:tag], oci-archive:FILE[:tag] or docker-archive:FILE";

[[noreturn]] void bad(std::string_view text, std::string_view what) {
  fail(ErrorKind::invalid_input,
       "invalid image reference \"" + std::string(text.substr(0, 300)) + "\": " + std::string(what),
       std::string(kRefHint));
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_path_component(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  for (size_t i = 0; i < s.size();) {
    if (is_lower_alnum(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    if (s[i] == '.') {
      j = i + 1;
    } else if (s[i] == '_') {
      j = i + 1;
      if (j < s.size() && s[j] == '_') j++;
    } else if (s[i] == '-') {
      while (j < s.size() && s[j] == '-') j++;
    } else {
      return false;
    }
    if (j >= s.size() || !is_lower_alnum(s[j])) return false;
    i = j;
  }
  return true;
}

// host(.host)*(:port)? or [ipv6](:port)?
bool valid_domain(std::string_view d) {
  std::string_view host = d;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : d.substr(1, close - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    std::string_view rest = d.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':' || rest.size() < 2) return false;
    for (char c : rest.substr(1))
      if (c < '0' || c > '9') return false;
    return true;
  }
  size_t colon = d.find(':');
  if (colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port)
      if (c < '0' || c > '9') return false;
    host = d.substr(0, colon);
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !is_word(t.front())) return false;
  for (char c : t)
    if (!is_word(c) && c != '.' && c != '-') return false;
  return true;
}

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

void check_tag(std::string_view text, std::string_view tag) {
  if (!valid_tag(tag))
    bad(text, "invalid tag \"" + std::string(tag.substr(0, 200)) +
                  "\" (a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')");
}

// oci:DIR[:tag] and oci-archive:FILE[:tag]: the path ends at the first ':'.
Ref parse_local(std::string_view text, std::string_view rest, Transport t, bool allow_tag) {
  Ref r;
  r.transport = t;
  std::string_view path = rest;
  if (allow_tag) {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      path = rest.substr(0, colon);
      std::string_view tag = rest.substr(colon + 1);
      check_tag(text, tag);
      r.tag = std::string(tag);
    }
  }
  if (path.empty())
    bad(text, std::string("missing ") + (t == Transport::oci_layout ? "directory" : "file") + " path");
  r.path = std::string(path);
  return r;
}

Ref parse_registry_ref(std::string_view text, std::string_view s) {
  Ref r;
  if (s.empty()) bad(text, "empty reference");
  std::string_view name = s;
  size_t at = s.find('@');
  if (at != std::string_view::npos) {
    std::string_view digest = s.substr(at + 1);
    name = s.substr(0, at);
    if (digest.substr(0, 7) != "sha256:" && digest.find(':') != std::string_view::npos)
      bad(text, "unsupported digest algorithm \"" + std::string(digest.substr(0, digest.find(':'))) +
                    "\" (only sha256 is supported)");
    if (!is_valid_digest(digest))
      bad(text, "invalid digest (a digest is sha256: followed by 64 lowercase hex digits)");
    r.digest = std::string(digest);
  }
  // The tag is after the last ':' that follows the last '/'.
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = name.substr(colon + 1);
    check_tag(text, tag);
    r.tag = std::string(tag);
    name = name.substr(0, colon);
  }
  if (name.empty()) bad(text, "missing repository name");
  // The first component is a registry host if it has a '.' or ':' or is localhost.
  std::string_view repo = name;
  std::string domain;
  size_t first = name.find('/');
  if (first != std::string_view::npos) {
    std::string_view head = name.substr(0, first);
    if (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos ||
        head == "localhost" || (!head.empty() && head.front() == '[')) {
      if (!valid_domain(head)) bad(text, "invalid registry host \"" + std::string(head) + "\"");
      domain = std::string(head);
      repo = name.substr(first + 1);
    }
  }
  if (domain.empty() || domain == "docker.io" || domain == "index.docker.io") {
    domain = std::string(kDockerHub);
    if (repo.find('/') == std::string_view::npos) r.repository = "library/";
  }
  if (repo.empty()) bad(text, "missing repository name");
  // Docker's limit is on the whole name, "library/" included (the fuzzer
  // found a name that parsed once and not again in its canonical form).
  if (domain.size() + 1 + r.repository.size() + repo.size() > 255)
    bad(text, "repository name is longer than 255 characters");
  size_t start = 0;
  for (;;) {
    size_t end = repo.find('/', start);
    std::string_view comp =
        repo.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (comp.empty()) bad(text, "empty path component in the repository name");
    if (has_upper(comp)) bad(text, "repository name must be lowercase");
    if (!valid_path_component(comp))
      bad(text, "invalid repository name component \"" + std::string(comp) +
                    "\" (lowercase letters and digits, separated by '.', '_', '__' or '-')");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  r.registry = domain;
  r.repository += std::string(repo);
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

std::string_view transport_name(Transport t) {
  switch (t) {
    case Transport::registry:
      return "docker";
    case Transport::oci_layout:
      return "oci";
    case Transport::oci_archive:
      return "oci-archive";
    case Transport::docker_archive:
      return "docker-archive";
  }
  return "docker";
}

Ref parse_ref(std::string_view text) {
  if (text.empty()) bad(text, "empty reference");
  for (char c : text)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      bad(text, "contains whitespace or a control character");
  if (starts_with(text, "oci:")) return parse_local(text, text.substr(4), Transport::oci_layout, true);
  if (starts_with(text, "oci-archive:"))
    return parse_local(text, text.substr(12), Transport::oci_archive, true);
  if (starts_with(text, "docker-archive:"))
    return parse_local(text, text.substr(15), Transport::docker_archive, false);
  if (starts_with(text, "docker://")) return parse_registry_ref(text, text.substr(9));
  return parse_registry_ref(text, text);
}

std::string Ref::to_string() const {
  switch (transport) {
    case Transport::registry: {
      std::string s = registry + "/" + repository;
      if (!tag.empty()) s += ":" + tag;
      if (!digest.empty()) s += "@" + digest;
      return s;
    }
    case Transport::oci_layout:
    case Transport::oci_archive:
    case Transport::docker_archive: {
      std::string s = std::string(transport_name(transport)) + ":" + path;
      if (!tag.empty()) s += ":" + tag;
      return s;
    }
  }
  return {};
}

bool is_loopback_host(std::string_view registry) {
  std::string_view host = registry;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    return host == "::1" || host == "0:0:0:0:0:0:0:1";
  }
  size_t colon = host.find(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  if (host == "localhost" || host == "::1") return true;
  if (!starts_with(host, "127.")) return false;
  // 127.a.b.c, all numeric
  int dots = 0;
  for (char c : host) {
    if (c == '.') dots++;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

}  // namespace banger::oci
