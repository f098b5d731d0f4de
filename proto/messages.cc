#include "proto/messages.h"

#include <algorithm>

namespace banger::proto {

Writer& Writer::u8(uint8_t v) {
  out_.push_back(static_cast<char>(v));
  return *this;
}
Writer& Writer::u16(uint16_t v) {
  for (int i = 0; i < 2; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return *this;
}
Writer& Writer::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return *this;
}
Writer& Writer::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return *this;
}
Writer& Writer::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  out_.append(s);
  return *this;
}
Writer& Writer::strs(const std::vector<std::string>& v) {
  u32(static_cast<uint32_t>(v.size()));
  for (const auto& s : v) str(s);
  return *this;
}

const char* Reader::need(size_t n) {
  if (in_.size() < n) throw ProtocolError(std::string("truncated ") + what_ + " message");
  const char* p = in_.data();
  in_.remove_prefix(n);
  return p;
}
uint8_t Reader::u8() { return static_cast<uint8_t>(*need(1)); }
uint16_t Reader::u16() {
  const char* p = need(2);
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}
uint32_t Reader::u32() {
  const char* p = need(4);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t Reader::u64() {
  const char* p = need(8);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
std::string Reader::str() {
  uint32_t n = u32();
  const char* p = need(n);
  return std::string(p, n);
}
std::vector<std::string> Reader::strs() {
  uint32_t n = u32();
  // Every element takes at least its 4-byte length: a count larger than the
  // rest of the payload is a lie, rejected before allocating for it.
  if (n > in_.size() / 4) throw ProtocolError(std::string("truncated ") + what_ + " message");
  std::vector<std::string> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) v.push_back(str());
  return v;
}

// ---- connection ----

std::string Hello::encode() const {
  return Writer().u32(version).u32(min_version).str(software).strs(capabilities).take();
}
Hello Hello::decode(std::string_view p) {
  Reader r(p, "hello");
  Hello h;
  h.version = r.u32();
  h.min_version = r.u32();
  h.software = r.str();
  h.capabilities = r.strs();
  return h;
}
bool Hello::has(std::string_view cap) const {
  return std::find(capabilities.begin(), capabilities.end(), cap) != capabilities.end();
}

uint32_t negotiate(const Hello& mine, const Hello& theirs) {
  uint32_t v = std::min(mine.version, theirs.version);
  if (v < mine.min_version || v < theirs.min_version)
    throw ProtocolError("protocol version mismatch: this side speaks " + std::to_string(mine.min_version) +
                        ".." + std::to_string(mine.version) + ", the peer (" +
                        (theirs.software.empty() ? "unknown" : theirs.software) + ") speaks " +
                        std::to_string(theirs.min_version) + ".." + std::to_string(theirs.version));
  return v;
}

std::string Ready::encode() const {
  return Writer()
      .u32(kernel_to_init_ms)
      .u32(init_to_ready_ms)
      .u32(uptime_ms)
      .str(mode)
      .str(hostname)
      .str(kernel)
      .take();
}
Ready Ready::decode(std::string_view p) {
  Reader r(p, "ready");
  Ready m;
  m.kernel_to_init_ms = r.u32();
  m.init_to_ready_ms = r.u32();
  m.uptime_ms = r.u32();
  m.mode = r.str();
  m.hostname = r.str();
  m.kernel = r.str();
  return m;
}

std::string Failure::encode() const { return Writer().str(kind).str(message).take(); }
Failure Failure::decode(std::string_view p) {
  Reader r(p, "error");
  Failure m;
  m.kind = r.str();
  m.message = r.str();
  return m;
}

std::string Identity::encode() const {
  return Writer().u64(unix_ns).str(entropy).str(hostname).str(address).str(gateway).str(mac).take();
}
Identity Identity::decode(std::string_view p) {
  Reader r(p, "identity");
  Identity m;
  m.unix_ns = r.u64();
  m.entropy = r.str();
  m.hostname = r.str();
  m.address = r.str();
  m.gateway = r.str();
  m.mac = r.str();
  if (m.entropy.size() > kMaxEntropy || m.hostname.size() > 64 || m.address.size() > 18 ||
      m.gateway.size() > 15 || m.mac.size() > 17)
    throw ProtocolError("identity: a field is too long");
  return m;
}

std::string Poweroff::encode() const { return Writer().u8(reboot ? 1 : 0).take(); }
Poweroff Poweroff::decode(std::string_view p) {
  Reader r(p, "poweroff");
  Poweroff m;
  m.reboot = r.u8() != 0;
  return m;
}

// ---- exec ----

std::string Exec::encode() const {
  uint8_t flags = (tty ? 1 : 0) | (stdin ? 2 : 0);
  return Writer().strs(argv).strs(env).str(cwd).str(user).u8(flags).u16(rows).u16(cols).take();
}
Exec Exec::decode(std::string_view p) {
  Reader r(p, "exec");
  Exec m;
  m.argv = r.strs();
  m.env = r.strs();
  m.cwd = r.str();
  m.user = r.str();
  uint8_t flags = r.u8();
  m.tty = flags & 1;
  m.stdin = flags & 2;
  m.rows = r.u16();
  m.cols = r.u16();
  return m;
}

std::string ExecStarted::encode() const { return Writer().i32(pid).take(); }
ExecStarted ExecStarted::decode(std::string_view p) {
  Reader r(p, "exec_started");
  return ExecStarted{r.i32()};
}

std::string Exit::encode() const { return Writer().i32(code).i32(signal).u64(duration_us).take(); }
Exit Exit::decode(std::string_view p) {
  Reader r(p, "exit");
  Exit m;
  m.code = r.i32();
  m.signal = r.i32();
  m.duration_us = r.u64();
  return m;
}

std::string Signal::encode() const { return Writer().i32(signo).take(); }
Signal Signal::decode(std::string_view p) {
  Reader r(p, "signal");
  return Signal{r.i32()};
}

std::string WindowSize::encode() const { return Writer().u16(rows).u16(cols).take(); }
WindowSize WindowSize::decode(std::string_view p) {
  Reader r(p, "window_size");
  WindowSize m;
  m.rows = r.u16();
  m.cols = r.u16();
  return m;
}

// ---- designed for issue 5 ----

std::string FilePut::encode() const {
  return Writer().str(path).u32(mode).u32(uid).u32(gid).u64(size).take();
}
FilePut FilePut::decode(std::string_view p) {
  Reader r(p, "file_put");
  FilePut m;
  m.path = r.str();
  m.mode = r.u32();
  m.uid = r.u32();
  m.gid = r.u32();
  m.size = r.u64();
  return m;
}

std::string FileGet::encode() const { return Writer().str(path).take(); }
FileGet FileGet::decode(std::string_view p) {
  Reader r(p, "file_get");
  return FileGet{r.str()};
}

std::string FileInfo::encode() const { return Writer().u64(size).u32(mode).take(); }
FileInfo FileInfo::decode(std::string_view p) {
  Reader r(p, "file_info");
  FileInfo m;
  m.size = r.u64();
  m.mode = r.u32();
  return m;
}

std::string Credit::encode() const { return Writer().u32(bytes).take(); }
Credit Credit::decode(std::string_view p) {
  Reader r(p, "credit");
  return Credit{r.u32()};
}

std::string Ports::encode() const {
  Writer w;
  w.u32(static_cast<uint32_t>(ports.size()));
  for (const auto& x : ports) w.str(x.proto).str(x.address).u16(x.port);
  return w.take();
}
Ports Ports::decode(std::string_view p) {
  Reader r(p, "ports");
  Ports m;
  uint32_t n = r.u32();
  if (n > p.size() / 10) throw ProtocolError("truncated ports message");
  for (uint32_t i = 0; i < n; ++i) {
    Port x;
    x.proto = r.str();
    x.address = r.str();
    x.port = r.u16();
    m.ports.push_back(std::move(x));
  }
  return m;
}

std::string Stats::encode() const {
  return Writer()
      .u64(mem_total_kib)
      .u64(mem_available_kib)
      .u64(cpu_user_ms)
      .u64(cpu_system_ms)
      .u64(cpu_idle_ms)
      .u32(load1_centi)
      .u32(processes)
      .take();
}
Stats Stats::decode(std::string_view p) {
  Reader r(p, "stats");
  Stats m;
  m.mem_total_kib = r.u64();
  m.mem_available_kib = r.u64();
  m.cpu_user_ms = r.u64();
  m.cpu_system_ms = r.u64();
  m.cpu_idle_ms = r.u64();
  m.load1_centi = r.u32();
  m.processes = r.u32();
  return m;
}

}  // namespace banger::proto
