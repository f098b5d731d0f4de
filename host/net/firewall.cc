#include "host/net/firewall.h"

#include <arpa/inet.h>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/process.h"

namespace banger::net {

namespace {

using Json = nlohmann::json;

const std::string kComment = "vm=";

RunResult nft_raw(const std::vector<std::string>& args, const std::string& input = {}) {
  std::vector<std::string> argv = {"nft"};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    return run_capture(argv, input);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found)
      fail(ErrorKind::not_found, "'nft' not found", "install nftables (apt-get install nftables)");
    throw;
  }
}

[[noreturn]] void nft_failed(const std::string& what, const RunResult& r) {
  std::string err = r.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  std::string hint;
  if (err.find("Operation not permitted") != std::string::npos)
    hint = "tap networking needs root or CAP_NET_ADMIN; or use --net user";
  fail(ErrorKind::io, what + ": nft: " + (err.empty() ? "exit " + std::to_string(r.exit_code) : err), hint);
}

// Runs an nft script (one atomic transaction).
void nft_script(const std::string& script, const std::string& what) {
  spdlog::debug("nft: {}\n{}", what, script);
  RunResult r = nft_raw({"-f", "-"}, script);
  if (r.exit_code != 0) nft_failed(what, r);
}

bool table_exists(const std::string& family, const std::string& table) {
  RunResult r = nft_raw({"list", "table", family, table});
  if (r.exit_code == 0) return true;
  if (r.err.find("No such file or directory") != std::string::npos) return false;
  nft_failed("reading table " + family + " " + table, r);
}

// The rules of one table that carry a "vm=" comment ({family, chain,
// handle, vm}; `role` kRelayRole for a rule of the VM's DNS relay), and the
// VM's sets (set_name below; `set` holds the name, handle 0).
struct RuleRef {
  std::string family, chain, owner, vm;
  long long handle;
  std::string role, set;
};

const std::string kRelayRole = "relay";

std::string hex_of(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    out += static_cast<char>(v(h[i]) << 4 | v(h[i + 1]));
  }
  return out;
}

// VM `vm`'s set of what its name rules admit by DNS answer: "any" (every
// port and protocol: ipv4_addr) or "ports" (ipv4_addr . proto . port). The
// owner and VM are in its name, since a set has no comment to read back.
const std::string kSetPrefix = "names_";
std::string set_name(const Config& cfg, const std::string& vm, const std::string& kind) {
  return kSetPrefix + kind + "_" + hex_of(cfg.owner + ":" + vm);
}

std::vector<RuleRef> vm_rule_refs(const Config& cfg) {
  std::vector<RuleRef> out;
  for (const char* family : {"inet", "bridge"}) {
    RunResult r = nft_raw({"-j", "-a", "list", "table", family, cfg.table});
    if (r.exit_code != 0) {
      if (r.err.find("No such file or directory") != std::string::npos) continue;
      nft_failed(std::string("listing table ") + family + " " + cfg.table, r);
    }
    Json j;
    try {
      j = Json::parse(r.out);
    } catch (const std::exception& e) {
      fail(ErrorKind::internal, std::string("cannot parse nft's JSON output: ") + e.what());
    }
    for (const auto& item : j.value("nftables", Json::array())) {
      if (item.contains("set")) {
        std::string set = item["set"].value("name", "");
        size_t at = set.find('_', kSetPrefix.size());
        if (set.rfind(kSetPrefix, 0) != 0 || at == std::string::npos) continue;
        std::string who = unhex(set.substr(at + 1));
        size_t colon = who.find(':');
        if (colon == std::string::npos) continue;
        out.push_back({family, "", who.substr(0, colon), who.substr(colon + 1), 0, "", set});
        continue;
      }
      if (!item.contains("rule")) continue;
      const auto& rule = item["rule"];
      std::string comment = rule.value("comment", "");
      if (comment.rfind(kComment, 0) != 0) continue;
      std::string who = comment.substr(kComment.size());
      std::string role;
      if (size_t space = who.find(' '); space != std::string::npos) {
        role = who.substr(space + 1);
        who.resize(space);
      }
      size_t colon = who.find(':');
      std::string owner = colon == std::string::npos ? "" : who.substr(0, colon);
      out.push_back({family, rule.value("chain", ""), owner,
                     who.substr(colon == std::string::npos ? 0 : colon + 1), rule.value("handle", 0ll), role,
                     ""});
    }
  }
  return out;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

bool tables_exist(const Config& cfg) {
  return table_exists("inet", cfg.table) && table_exists("bridge", cfg.table);
}

bool any_table_exists(const Config& cfg) {
  RunResult r = nft_raw({"list", "tables"});
  if (r.exit_code != 0) nft_failed("listing nftables tables", r);
  return r.out.find("table inet " + cfg.table + "\n") != std::string::npos ||
         r.out.find("table bridge " + cfg.table + "\n") != std::string::npos;
}

void ensure_tables(const Config& cfg) {
  const std::string net = cfg.subnet.cidr();
  const std::string br = quoted(cfg.bridge);
  bool have_inet = table_exists("inet", cfg.table);
  if (have_inet) {
    // Made for another subnet or bridge (BANGER_SUBNET changed)? Remake it
    // when no VM uses it; otherwise say so.
    RunResult r = nft_raw({"list", "table", "inet", cfg.table});
    bool current =
        r.out.find("ip saddr " + net + " ip daddr != " + net + " masquerade") != std::string::npos &&
        r.out.find("iifname " + br + " drop") != std::string::npos;
    if (!current) {
      if (!vm_rule_refs(cfg).empty())
        fail(ErrorKind::conflict,
             "banger's nftables table inet " + cfg.table + " was made for another subnet or bridge than " +
                 net + " on " + cfg.bridge,
             "stop banger's tap-mode VMs before changing BANGER_SUBNET or BANGER_BRIDGE");
      spdlog::info("remaking nftables table inet {} for {} on {}", cfg.table, net, cfg.bridge);
      nft_script("delete table inet " + cfg.table + "\n", "deleting the stale table inet " + cfg.table);
      have_inet = false;
    }
  }
  if (!have_inet) {
    nft_script("table inet " + cfg.table +
                   " {\n"
                   "  chain postrouting {\n"
                   "    type nat hook postrouting priority srcnat; policy accept;\n"
                   "    ip saddr " +
                   net + " ip daddr != " + net +
                   " masquerade comment \"banger: NAT\"\n"
                   "  }\n"
                   "  chain input {\n"
                   "    type filter hook input priority filter; policy accept;\n"
                   "    iifname " +
                   br +
                   " ct state established,related accept\n"
                   "    iifname " +
                   br +
                   " jump guest_to_host\n"
                   "    iifname " +
                   br +
                   " drop comment \"banger: guests may not reach host services\"\n"
                   "  }\n"
                   "  chain guest_to_host {\n"
                   "    icmp type echo-request accept\n"
                   "  }\n"
                   "}\n",
               "creating nftables table inet " + cfg.table);
  }
  // Also in a table made before it existed: `add` keeps a chain that is there.
  nft_script("add chain inet " + cfg.table +
                 " egress { type filter hook forward priority filter; policy accept; }\n"
                 "add chain inet " +
                 cfg.table + " dns_relay { type nat hook prerouting priority dstnat; policy accept; }\n",
             "adding the egress chains to nftables table inet " + cfg.table);
  if (!table_exists("bridge", cfg.table)) {
    nft_script("table bridge " + cfg.table +
                   " {\n"
                   "  chain prerouting {\n"
                   "    type filter hook prerouting priority filter; policy accept;\n"
                   "  }\n"
                   "}\n",
               "creating nftables table bridge " + cfg.table);
  }
}

void delete_tables(const Config& cfg) {
  for (const char* family : {"inet", "bridge"})
    if (table_exists(family, cfg.table))
      nft_script(std::string("delete table ") + family + " " + cfg.table + "\n",
                 std::string("deleting nftables table ") + family + " " + cfg.table);
}

void add_vm_rules(const Config& cfg, const std::string& vm, const std::string& tap, const std::string& mac,
                  const std::string& ip) {
  const std::string pre = "add rule bridge " + cfg.table + " prerouting iifname " + quoted(tap) + " ";
  const std::string c = " drop comment " + quoted(kComment + cfg.owner + ":" + vm) + "\n";
  nft_script(pre + "ether saddr != " + mac + c + pre + "ether type ip ip saddr != " + ip + c + pre +
                 "ether type arp arp saddr ip != " + ip + c,
             "adding the nftables rules of VM " + vm);
}

void add_allow_rule(const Config& cfg, const std::string& vm, const std::string& ip, const std::string& proto,
                    int port) {
  if ((proto != "tcp" && proto != "udp") || port < 1 || port > 65535)
    fail(ErrorKind::invalid_input, "host port " + proto + "/" + std::to_string(port) + " is not valid",
         "use tcp or udp and a port from 1 to 65535");
  nft_script("add rule inet " + cfg.table + " guest_to_host ip saddr " + ip + " " + proto + " dport " +
                 std::to_string(port) + " accept comment " + quoted(kComment + cfg.owner + ":" + vm) + "\n",
             "allowing VM " + vm + " to reach host port " + proto + "/" + std::to_string(port));
}

void set_egress_rules(const Config& cfg, const std::string& vm, const std::string& ip, const EgressPolicy& p,
                      const DnsRelay& relay) {
  bool names = p.has_name_rules();
  if ((names && relay.port == 0) || (p.hook && relay.hook_port == 0))
    fail(ErrorKind::internal, "VM " + vm + ": name rules and hooks in tap mode need banger's relay");
  std::string script;
  const std::string c = " comment " + quoted(kComment + cfg.owner + ":" + vm) + "\n";
  const std::string c_relay = " comment " + quoted(kComment + cfg.owner + ":" + vm + " " + kRelayRole) + "\n";
  std::vector<std::string> old_sets;
  for (const auto& r : vm_rule_refs(cfg)) {
    if (r.owner != cfg.owner || r.vm != vm || r.family != "inet") continue;
    if (!r.set.empty()) old_sets.push_back(r.set);
    else if (r.chain == "egress" || r.role == kRelayRole)
      script +=
          "delete rule inet " + cfg.table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
  }
  for (const auto& set : old_sets) script += "delete set inet " + cfg.table + " " + set + "\n";
  // What the rules admit, as nft matches: each address rule, then the sets.
  std::vector<std::string> admitted;
  for (const auto& r : p.rules) {
    if (!r.name.empty()) continue;
    in_addr a{htonl(r.net)};
    char net[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, net, sizeof net);
    std::string match = "ip daddr " + std::string(net) + "/" + std::to_string(r.bits);
    if (r.port) match += std::string(r.udp ? " udp" : " tcp") + " dport " + std::to_string(r.port);
    admitted.push_back(match);
  }
  bool with_sets = names && p.mode != EgressPolicy::Mode::all;
  if (with_sets) {
    std::string any = set_name(cfg, vm, "any"), ports = set_name(cfg, vm, "ports");
    script += "add set inet " + cfg.table + " " + any + " { type ipv4_addr; }\n";
    script +=
        "add set inet " + cfg.table + " " + ports + " { type ipv4_addr . inet_proto . inet_service; }\n";
    admitted.push_back("ip daddr @" + any);
    admitted.push_back("ip daddr . meta l4proto . th dport @" + ports);
  }
  const std::string nat =
      "add rule inet " + cfg.table + " dns_relay iifname " + quoted(cfg.bridge) + " ip saddr " + ip + " ";
  const std::string in =
      "add rule inet " + cfg.table + " guest_to_host ip saddr " + ip + " ip daddr " + relay.gateway + " ";
  if (relay.port) {
    // All of the guest's DNS, to whichever server, goes to banger's relay.
    script += nat + "udp dport 53 dnat ip to " + relay.gateway + ":" + std::to_string(relay.port) + c_relay;
    script += in + "udp dport " + std::to_string(relay.port) + " accept" + c_relay;
    if (relay.tcp_port) {
      script +=
          nat + "tcp dport 53 dnat ip to " + relay.gateway + ":" + std::to_string(relay.tcp_port) + c_relay;
      script += in + "tcp dport " + std::to_string(relay.tcp_port) + " accept" + c_relay;
    }
  }
  if (p.hook && p.mode != EgressPolicy::Mode::all) {
    // A new TCP connection no rule admits goes to the relay's listener,
    // where the hook decides (banger's own network stays as it is).
    script += nat + "ip daddr " + cfg.subnet.cidr() + " return" + c_relay;
    for (const auto& m : admitted) script += nat + m + " return" + c_relay;
    script += nat + "meta l4proto tcp dnat ip to " + relay.gateway + ":" + std::to_string(relay.hook_port) +
              c_relay;
    script += in + "tcp dport " + std::to_string(relay.hook_port) + " accept" + c_relay;
  }
  if (p.mode != EgressPolicy::Mode::all) {
    const std::string pre = "add rule inet " + cfg.table + " egress ip saddr " + ip + " ";
    // A new flow's verdict, for the relay's network log.
    auto logged = [&](const char* prefix) {
      if (relay.log_group < 0) return std::string();
      return std::string(" log prefix ") + quoted(prefix) + " group " + std::to_string(relay.log_group);
    };
    const std::string allowed = logged(kLogAllowed);
    script += pre + "ct state established,related accept" + c;
    for (const auto& m : admitted) script += pre + m + allowed + " accept" + c;
    if (relay.log_group >= 0) script += pre + logged(kLogRefused).substr(1) + c;
    script += pre + "meta l4proto tcp reject with tcp reset" + c;
    script += pre + "reject" + c;
  }
  if (!script.empty()) nft_script(script, "setting the egress policy of VM " + vm);
}

namespace {

std::string element_text(const NameElement& e) {
  in_addr a{htonl(e.addr)};
  char addr[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, addr, sizeof addr);
  if (!e.port) return addr;
  return std::string(addr) + (e.udp ? " . udp . " : " . tcp . ") + std::to_string(e.port);
}

}  // namespace

void change_name_elements(const Config& cfg, const std::string& vm, const std::vector<NameElement>& add,
                          const std::vector<NameElement>& remove) {
  std::string script;
  auto line = [&](const char* verb, const NameElement& e) {
    script += std::string(verb) + " element inet " + cfg.table + " " +
              set_name(cfg, vm, e.port ? "ports" : "any") + " { " + element_text(e) + " }\n";
  };
  for (const auto& e : remove) line("delete", e);
  for (const auto& e : add) line("add", e);
  if (!script.empty()) nft_script(script, "updating the addresses VM " + vm + "'s name rules allow");
}

int remove_vm_rules(const Config& cfg, const std::string& vm) {
  std::string script;
  int n = 0;
  std::string sets;  // after the rules that name them
  for (const auto& r : vm_rule_refs(cfg)) {
    if (r.owner != cfg.owner || r.vm != vm) continue;
    if (!r.set.empty()) sets += "delete set " + r.family + " " + cfg.table + " " + r.set + "\n";
    else
      script += "delete rule " + r.family + " " + cfg.table + " " + r.chain + " handle " +
                std::to_string(r.handle) + "\n";
    ++n;
  }
  script += sets;
  if (n) nft_script(script, "removing the nftables rules of VM " + vm);
  return n;
}

std::set<std::string> rule_owners(const Config& cfg) {
  std::set<std::string> out;
  for (const auto& r : vm_rule_refs(cfg))
    if (r.owner == cfg.owner) out.insert(r.vm);
  return out;
}

bool any_vm_rules(const Config& cfg) { return !vm_rule_refs(cfg).empty(); }

std::string list_tables(const Config& cfg) {
  std::string out;
  for (const char* family : {"inet", "bridge"}) {
    RunResult r = nft_raw({"list", "table", family, cfg.table});
    if (r.exit_code == 0) out += r.out;
  }
  return out;
}

}  // namespace banger::net
