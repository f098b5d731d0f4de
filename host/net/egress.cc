#include "host/net/egress.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

#include "host/core/error.h"

namespace banger::net {

namespace {

const char* kRuleHint =
    "write all, none, ADDR[/BITS][:PORT[/udp]] (10.0.0.5:443, 10.1.0.0/16) or NAME[:PORT[/udp]] "
    "(example.com:443, *.example.com)";

[[noreturn]] void bad_rule(const std::string& rule, const std::string& why) {
  fail(ErrorKind::invalid_input, "--egress '" + rule + "': " + why, kRuleHint);
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return isdigit(c); });
}

// A DNS name: dot-separated labels of letters, digits and '-', 1-63 bytes
// each, 253 in all; a rule may start with "*." for the subdomains.
bool valid_name(const std::string& name, bool wildcard_ok) {
  std::string n = name;
  if (wildcard_ok && n.rfind("*.", 0) == 0) n = n.substr(2);
  if (n.empty() || n.size() > 253) return false;
  size_t start = 0;
  while (start <= n.size()) {
    size_t dot = n.find('.', start);
    size_t end = dot == std::string::npos ? n.size() : dot;
    size_t len = end - start;
    if (len == 0 || len > 63) return false;
    for (size_t i = start; i < end; i++) {
      unsigned char c = static_cast<unsigned char>(n[i]);
      if (!isalnum(c) && c != '-' && c != '_') return false;
    }
    if (n[start] == '-' || n[end - 1] == '-') return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

bool parse_ipv4(const std::string& text, uint32_t& out) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

bool name_matches(const std::string& pattern, const std::string& name) {
  if (pattern.rfind("*.", 0) == 0) {
    std::string suffix = pattern.substr(1);  // ".example.com"
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return pattern == name;
}

bool port_matches(const EgressRule& r, uint8_t proto, int port) {
  if (r.port == 0) return true;
  if (proto != (r.udp ? IPPROTO_UDP : IPPROTO_TCP)) return false;
  return port == r.port;
}

EgressRule parse_rule(const std::string& text) {
  EgressRule r;
  r.text = text;
  std::string host = text;
  // NAME:PORT or ADDR[/BITS]:PORT[/udp]: the port is after the last ':'.
  size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    host = text.substr(0, colon);
    std::string port = text.substr(colon + 1);
    if (port.size() > 4 && port.compare(port.size() - 4, 4, "/udp") == 0) {
      r.udp = true;
      port.resize(port.size() - 4);
    }
    if (!all_digits(port) || std::stoi(port) < 1 || std::stoi(port) > 65535)
      bad_rule(text, "the port must be 1 to 65535, got '" + port + "'");
    r.port = std::stoi(port);
  }
  if (host.empty()) bad_rule(text, "an address or a name comes before the port");
  bool numeric = std::all_of(host.begin(), host.end(),
                             [](unsigned char c) { return isdigit(c) || c == '.' || c == '/'; });
  if (!numeric) {
    std::string name = normalize_name(host);
    if (!valid_name(name, true)) bad_rule(text, "'" + host + "' is neither an IPv4 address nor a DNS name");
    r.name = name;
    return r;
  }
  std::string address = host;
  size_t slash = host.find('/');
  if (slash != std::string::npos) {
    address = host.substr(0, slash);
    std::string bits = host.substr(slash + 1);
    if (!all_digits(bits) || std::stoi(bits) > 32)
      bad_rule(text, "the prefix length must be 0 to 32, got '" + bits + "'");
    r.bits = std::stoi(bits);
  }
  if (!parse_ipv4(address, r.net)) bad_rule(text, "'" + address + "' is not an IPv4 address");
  uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
  r.net &= mask;
  return r;
}

}  // namespace

std::string normalize_name(const std::string& name) {
  std::string out = name;
  while (!out.empty() && out.back() == '.') out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool EgressPolicy::has_name_rules() const {
  if (hook) return true;
  return std::any_of(rules.begin(), rules.end(), [](const EgressRule& r) { return !r.name.empty(); }) ||
         !hosts.empty();
}

const EgressRule* EgressPolicy::match_address(uint32_t dst, uint8_t proto, int port) const {
  for (const auto& r : rules) {
    if (!r.name.empty()) continue;
    uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((dst & mask) == r.net && port_matches(r, proto, port)) return &r;
  }
  return nullptr;
}

const EgressRule* EgressPolicy::match_name(const std::string& name) const {
  for (const auto& r : rules)
    if (!r.name.empty() && name_matches(r.name, name)) return &r;
  return nullptr;
}

const EgressRule* EgressPolicy::match_name(const std::string& name, uint8_t proto, int port) const {
  for (const auto& r : rules)
    if (!r.name.empty() && name_matches(r.name, name) && port_matches(r, proto, port)) return &r;
  return nullptr;
}

std::vector<const EgressRule*> EgressPolicy::name_rules_for(const std::string& name) const {
  std::vector<const EgressRule*> out;
  for (const auto& r : rules)
    if (!r.name.empty() && name_matches(r.name, name)) out.push_back(&r);
  return out;
}

std::string EgressPolicy::describe() const {
  if (mode == Mode::all) return "all";
  if (mode == Mode::none) return "none";
  std::string out;
  for (const auto& r : rules) out += (out.empty() ? "" : ", ") + r.text;
  if (hook) out += (out.empty() ? "hook " : ", hook ") + hook_name;
  return out;
}

EgressPolicy parse_egress(const std::vector<std::string>& rules, const std::vector<std::string>& add_hosts,
                          const std::string& hook_source, const std::string& hook_name) {
  EgressPolicy p;
  if (!hook_source.empty()) {
    if (rules.size() == 1 && (rules[0] == "all" || rules[0] == "none"))
      fail(ErrorKind::invalid_input,
           "--egress " + rules[0] + " leaves nothing for the egress hook " + hook_name + " to decide",
           "give the hook alone, or with the rules it adds to");
    p.mode = EgressPolicy::Mode::list;
    p.hook = make_egress_hook(hook_source, hook_name);
    p.hook_name = hook_name;
  }
  for (const auto& text : rules) {
    if (text == "all" || text == "none") {
      if (rules.size() != 1) bad_rule(text, "'" + text + "' stands alone, with no other rule");
      p.mode = text == "all" ? EgressPolicy::Mode::all : EgressPolicy::Mode::none;
      continue;
    }
    p.mode = EgressPolicy::Mode::list;
    p.rules.push_back(parse_rule(text));
  }
  for (const auto& pin : add_hosts) {
    size_t colon = pin.find(':');
    std::string name = normalize_name(pin.substr(0, colon == std::string::npos ? 0 : colon));
    uint32_t ip = 0;
    if (colon == std::string::npos || !valid_name(name, false) || !parse_ipv4(pin.substr(colon + 1), ip))
      fail(ErrorKind::invalid_input, "--add-host '" + pin + "': write NAME:IPV4, e.g. api.internal:10.0.0.5");
    p.hosts[name] = ip;
  }
  return p;
}

}  // namespace banger::net
