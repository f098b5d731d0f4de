// Network from the kernel command line, set with ioctls (no external tools):
//   banger.ip=ADDR/PREFIX banger.gw=GATEWAY banger.dns=IP[,IP] banger.iface=DEV
// or the kernel's own syntax (the cloud kernel has no CONFIG_IP_PNP, so the
// agent reads it):  ip=CLIENT:SERVER:GW:NETMASK:HOSTNAME:DEVICE:AUTOCONF:DNS0:DNS1
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/agent.h"

namespace banger::agent {

namespace {

struct NetConfig {
  std::string iface;
  std::string address;
  int prefix = 24;
  std::string gateway;
  std::vector<std::string> dns;
};

sockaddr_in inet(const std::string& a) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  inet_pton(AF_INET, a.c_str(), &s.sin_addr);
  return s;
}

bool set_flags_up(int sock, const std::string& dev) {
  ifreq r{};
  strncpy(r.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFFLAGS, &r) != 0) return false;
  r.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(sock, SIOCSIFFLAGS, &r) == 0;
}

std::string first_interface() {
  // virtio_net probes while stage 1 loads it; give it a moment.
  for (int i = 0; i < 200; ++i) {
    DIR* d = opendir("/sys/class/net");
    std::string found;
    if (d) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == ".." || n == "lo") continue;
        if (found.empty() || n < found) found = n;
      }
      closedir(d);
    }
    if (!found.empty()) return found;
    usleep(10000);
  }
  return {};
}

int mask_to_prefix(const std::string& mask) {
  in_addr a{};
  if (inet_pton(AF_INET, mask.c_str(), &a) != 1) return 24;
  return __builtin_popcount(a.s_addr);
}

std::optional<NetConfig> parse(const Cmdline& c) {
  NetConfig n;
  std::string ip = cmdline_get(c, proto::kArgIp);
  if (!ip.empty()) {
    size_t slash = ip.find('/');
    n.address = ip.substr(0, slash);
    if (slash != std::string::npos) n.prefix = atoi(ip.c_str() + slash + 1);
    n.gateway = cmdline_get(c, proto::kArgGateway);
    for (auto& d : split(cmdline_get(c, proto::kArgDns), ','))
      if (!d.empty()) n.dns.push_back(d);
    n.iface = cmdline_get(c, proto::kArgIface);
    return n;
  }
  std::string k = cmdline_get(c, "ip");
  if (k.empty() || k.find(':') == std::string::npos) return std::nullopt;
  auto f = split(k, ':');
  f.resize(9);
  n.address = f[0];
  n.gateway = f[2];
  if (!f[3].empty()) n.prefix = mask_to_prefix(f[3]);
  n.iface = f[5];
  for (int i = 7; i < 9; ++i)
    if (!f[i].empty()) n.dns.push_back(f[i]);
  if (n.address.empty()) return std::nullopt;
  return n;
}

void write_resolv_conf(const std::vector<std::string>& dns) {
  std::string text;
  for (const auto& d : dns) text += "nameserver " + d + "\n";
  struct stat st {};
  // Often a symlink into /run (systemd-resolved): this VM's disk is its own
  // overlay, so replace the link with a file.
  if (lstat("/etc/resolv.conf", &st) == 0 && S_ISLNK(st.st_mode)) unlink("/etc/resolv.conf");
  int fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    log("writing /etc/resolv.conf: %s", strerror(errno));
    return;
  }
  (void)!write(fd, text.data(), text.size());
  close(fd);
}

// Gives the interface cfg.iface (or the first one) its address, netmask,
// default route and resolvers. Returns false when there is no interface.
bool configure(int sock, NetConfig* cfg) {
  {
    if (cfg->iface.empty()) cfg->iface = first_interface();
    if (cfg->iface.empty()) {
      log("network: no interface found for %s", cfg->address.c_str());
      return false;
    } else {
      ifreq r{};
      strncpy(r.ifr_name, cfg->iface.c_str(), IFNAMSIZ - 1);
      sockaddr_in addr = inet(cfg->address);
      memcpy(&r.ifr_addr, &addr, sizeof addr);
      if (ioctl(sock, SIOCSIFADDR, &r) != 0)
        log("network: address %s on %s: %s", cfg->address.c_str(), cfg->iface.c_str(), strerror(errno));
      sockaddr_in mask{};
      mask.sin_family = AF_INET;
      mask.sin_addr.s_addr = cfg->prefix <= 0 ? 0 : htonl(~0u << (32 - std::min(cfg->prefix, 32)));
      memcpy(&r.ifr_netmask, &mask, sizeof mask);
      if (ioctl(sock, SIOCSIFNETMASK, &r) != 0)
        log("network: netmask on %s: %s", cfg->iface.c_str(), strerror(errno));
      if (!set_flags_up(sock, cfg->iface))
        log("network: bringing %s up: %s", cfg->iface.c_str(), strerror(errno));
      if (!cfg->gateway.empty()) {
        rtentry rt{};
        sockaddr_in any{};
        any.sin_family = AF_INET;
        sockaddr_in gw = inet(cfg->gateway);
        memcpy(&rt.rt_dst, &any, sizeof any);
        memcpy(&rt.rt_genmask, &any, sizeof any);
        memcpy(&rt.rt_gateway, &gw, sizeof gw);
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = cfg->iface.data();
        if (ioctl(sock, SIOCADDRT, &rt) != 0 && errno != EEXIST)
          log("network: default route via %s: %s", cfg->gateway.c_str(), strerror(errno));
      }
      if (!cfg->dns.empty()) write_resolv_conf(cfg->dns);
    }
  }
  return true;
}

bool set_mac(int sock, const std::string& dev, const std::string& mac) {
  unsigned b[6];
  if (sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return false;
  ifreq r{};
  strncpy(r.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFFLAGS, &r) != 0) return false;
  short flags = r.ifr_flags;
  r.ifr_flags = static_cast<short>(flags & ~IFF_UP);
  ioctl(sock, SIOCSIFFLAGS, &r);  // the MAC changes only while the device is down
  ifreq h{};
  strncpy(h.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  h.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  for (int i = 0; i < 6; ++i) h.ifr_hwaddr.sa_data[i] = static_cast<char>(b[i]);
  bool ok = ioctl(sock, SIOCSIFHWADDR, &h) == 0;
  r.ifr_flags = flags;
  ioctl(sock, SIOCSIFFLAGS, &r);
  return ok;
}

}  // namespace

void setup_network(const Cmdline& c) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    log("socket: %s", strerror(errno));
    return;
  }
  if (!set_flags_up(sock, "lo")) log("bringing lo up: %s", strerror(errno));
  auto cfg = parse(c);
  if (cfg) configure(sock, &*cfg);
  close(sock);
}

std::string renumber_network(const std::string& address, const std::string& gateway, const std::string& mac) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return std::string("socket: ") + strerror(errno);
  NetConfig cfg;
  size_t slash = address.find('/');
  cfg.address = address.substr(0, slash);
  if (slash != std::string::npos) cfg.prefix = atoi(address.c_str() + slash + 1);
  cfg.gateway = gateway;
  cfg.iface = first_interface();
  std::string err;
  // A MAC change takes the device down, which drops its routes: configure() adds them back.
  if (!cfg.iface.empty() && !mac.empty() && !set_mac(sock, cfg.iface, mac))
    err = "setting MAC " + mac + ": " + strerror(errno);
  else if (cfg.iface.empty() || (!address.empty() && !configure(sock, &cfg))) err = "no network interface";
  close(sock);
  return err;
}

}  // namespace banger::agent
