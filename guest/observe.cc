#include "guest/observe.h"

#include <arpa/inet.h>
#include <unistd.h>
#include <cmath>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <tuple>

#include "guest/agent.h"

namespace banger::agent {

namespace {

// "0100007F:1F90" (little-endian words as the kernel prints them) -> address, port.
bool parse_endpoint(const std::string& s, bool v6, std::string& addr, uint16_t& port) {
  size_t colon = s.find(':');
  if (colon == std::string::npos) return false;
  std::string hex = s.substr(0, colon);
  port = static_cast<uint16_t>(strtoul(s.c_str() + colon + 1, nullptr, 16));
  unsigned char bytes[16] = {};
  size_t n = v6 ? 16 : 4;
  if (hex.size() != n * 2) return false;
  // The kernel prints each 32-bit word in host (little-endian) order.
  for (size_t w = 0; w < n / 4; ++w) {
    uint32_t word = static_cast<uint32_t>(strtoul(hex.substr(w * 8, 8).c_str(), nullptr, 16));
    memcpy(bytes + w * 4, &word, 4);
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf);
  addr = buf;
  return true;
}

}  // namespace

proto::Ports listening_ports() {
  proto::Ports out;
  std::set<std::tuple<std::string, std::string, uint16_t>> seen;
  for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
    bool v6 = proto[3] == '6';
    bool tcp = proto[0] == 't';
    auto lines = split(read_small_file(std::string("/proc/net/") + proto), '\n');
    for (size_t i = 1; i < lines.size(); ++i) {
      std::vector<std::string> f;
      for (auto& w : split(lines[i], ' '))
        if (!w.empty()) f.push_back(w);
      if (f.size() < 4) continue;
      // TCP: 0A is LISTEN. UDP: 07 (CLOSE) is a bound, unconnected socket.
      if ((tcp && f[3] != "0A") || (!tcp && f[3] != "07")) continue;
      proto::Port p;
      p.proto = proto;
      if (!parse_endpoint(f[1], v6, p.address, p.port)) continue;
      if (seen.insert({p.proto, p.address, p.port}).second) out.ports.push_back(p);
    }
  }
  return out;
}

proto::Stats system_stats() {
  proto::Stats s;
  for (const auto& line : split(read_small_file("/proc/meminfo"), '\n')) {
    if (line.rfind("MemTotal:", 0) == 0) s.mem_total_kib = strtoull(line.c_str() + 9, nullptr, 10);
    if (line.rfind("MemAvailable:", 0) == 0) s.mem_available_kib = strtoull(line.c_str() + 13, nullptr, 10);
  }
  long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  for (const auto& line : split(read_small_file("/proc/stat"), '\n')) {
    if (line.rfind("cpu ", 0) != 0) continue;
    std::vector<unsigned long long> v;
    for (auto& w : split(line.substr(4), ' '))
      if (!w.empty()) v.push_back(strtoull(w.c_str(), nullptr, 10));
    if (v.size() >= 4) {
      s.cpu_user_ms = (v[0] + v[1]) * 1000 / hz;
      s.cpu_system_ms = v[2] * 1000 / hz;
      s.cpu_idle_ms = v[3] * 1000 / hz;
    }
    break;
  }
  auto load = split(read_small_file("/proc/loadavg"), ' ');
  if (load.size() >= 4) {
    s.load1_centi = static_cast<uint32_t>(std::lround(strtod(load[0].c_str(), nullptr) * 100));
    size_t slash = load[3].find('/');
    if (slash != std::string::npos)
      s.processes = static_cast<uint32_t>(strtoul(load[3].c_str() + slash + 1, nullptr, 10));
  }
  return s;
}

}  // namespace banger::agent
