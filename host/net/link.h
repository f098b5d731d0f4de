// Network links through iproute2's `ip` (JSON output): the bridge, taps,
// addresses and routes. Every failure is an error naming the link.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace banger::net {

struct Link {
  std::string name;
  std::string master;  // the bridge it is attached to, if any
  std::string alias;   // IFLA_IFALIAS: banger writes "banger:VM" on its taps
  std::string kind;    // "bridge", "tun", "veth", ... (empty when unknown)
  bool up = false;
};

std::vector<Link> list_links();
std::optional<Link> find_link(const std::string& name);

// ip link add NAME type bridge; fixed MAC; up.
void create_bridge(const std::string& name, const std::string& mac);
// A persistent tap owned by `uid` (so a VMM running as that user opens it).
void create_tap(const std::string& name, unsigned uid);
void set_up(const std::string& name);
void attach_up(const std::string& name, const std::string& bridge);
void set_alias(const std::string& name, const std::string& alias);
// Returns false when there was no such link.
bool delete_link(const std::string& name);

// "A.B.C.D/P" addresses (IPv4) on a link.
std::vector<std::string> ipv4_addresses(const std::string& dev);
void add_address(const std::string& dev, const std::string& cidr);

struct Route {
  std::string dst;  // "default" or "A.B.C.D/P"
  std::string dev;
};
std::vector<Route> ipv4_routes();

}  // namespace banger::net
