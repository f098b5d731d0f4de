#include "host/net/link.h"

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/process.h"

namespace banger::net {

namespace {

using Json = nlohmann::json;

const char* kIpHint = "install iproute2 (apt-get install iproute2)";

// Runs `ip ARGS`; an io error "WHAT: STDERR" on failure.
std::string ip(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r;
  try {
    r = run_capture(argv);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found) fail(ErrorKind::not_found, what + ": 'ip' not found", kIpHint);
    throw;
  }
  if (r.exit_code != 0) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    std::string hint;
    if (err.find("Operation not permitted") != std::string::npos)
      hint = "tap networking needs root or CAP_NET_ADMIN; or use --net user";
    fail(ErrorKind::io, what + ": " + (err.empty() ? "ip exited " + std::to_string(r.exit_code) : err), hint);
  }
  return r.out;
}

Json parse(const std::string& out, const std::string& what) {
  if (out.find_first_not_of(" \n") == std::string::npos) return Json::array();
  try {
    return Json::parse(out);
  } catch (const std::exception& e) {
    fail(ErrorKind::internal, what + ": cannot parse ip's JSON output: " + e.what());
  }
}

Link to_link(const Json& j) {
  Link l;
  l.name = j.value("ifname", "");
  l.master = j.value("master", "");
  l.alias = j.value("ifalias", "");
  if (j.contains("linkinfo")) l.kind = j["linkinfo"].value("info_kind", "");
  if (j.contains("flags"))
    for (const auto& f : j["flags"])
      if (f == "UP") l.up = true;
  return l;
}

}  // namespace

std::vector<Link> list_links() {
  std::vector<Link> out;
  for (const auto& j : parse(ip({"-j", "-d", "link", "show"}, "listing network links"), "listing links"))
    out.push_back(to_link(j));
  return out;
}

std::optional<Link> find_link(const std::string& name) {
  for (auto& l : list_links())
    if (l.name == name) return l;
  return std::nullopt;
}

void create_bridge(const std::string& name, const std::string& mac) {
  ip({"link", "add", "name", name, "address", mac, "type", "bridge"}, "creating bridge " + name);
  ip({"link", "set", "dev", name, "up"}, "bringing bridge " + name + " up");
}

void create_tap(const std::string& name, unsigned uid) {
  ip({"tuntap", "add", "dev", name, "mode", "tap", "user", std::to_string(uid)}, "creating tap " + name);
}

void set_up(const std::string& name) { ip({"link", "set", "dev", name, "up"}, "bringing " + name + " up"); }

void attach_up(const std::string& name, const std::string& bridge) {
  ip({"link", "set", "dev", name, "master", bridge, "up"}, "attaching " + name + " to " + bridge);
}

void set_alias(const std::string& name, const std::string& alias) {
  ip({"link", "set", "dev", name, "alias", alias}, "labelling link " + name);
}

bool delete_link(const std::string& name) {
  if (!find_link(name)) return false;
  try {
    ip({"link", "delete", "dev", name}, "deleting link " + name);
  } catch (const Error&) {
    // Gone meanwhile (another process, or the VMM closing a non-persistent tap).
    if (!find_link(name)) return true;
    throw;
  }
  return true;
}

std::vector<std::string> ipv4_addresses(const std::string& dev) {
  std::vector<std::string> out;
  for (const auto& j :
       parse(ip({"-j", "-4", "addr", "show", "dev", dev}, "reading addresses of " + dev), "addresses"))
    if (j.contains("addr_info"))
      for (const auto& a : j["addr_info"])
        out.push_back(a.value("local", "") + "/" + std::to_string(a.value("prefixlen", 0)));
  return out;
}

void add_address(const std::string& dev, const std::string& cidr) {
  ip({"addr", "add", cidr, "dev", dev}, "adding address " + cidr + " to " + dev);
}

std::vector<Route> ipv4_routes() {
  std::vector<Route> out;
  for (const auto& j : parse(ip({"-j", "-4", "route", "show", "table", "main"}, "listing routes"), "routes"))
    out.push_back({j.value("dst", ""), j.value("dev", "")});
  return out;
}

}  // namespace banger::net
