// The payloads of the frames in proto/wire.h. Each message is a plain struct
// with encode() and a static decode(); fields are positional little-endian
// integers and length-prefixed strings (u32 length + bytes). decode() checks
// every length against what is left and throws ProtocolError on truncation;
// bytes past the known fields are ignored (room for compatible additions).
//
// The conversation:
//   1. Both sides send Hello as soon as the channel is open; each checks the
//      other's version range (negotiate()). The guest also answers every Hello
//      it receives with its own Hello and Ready, so a host that attached late
//      (or sent its Hello before the guest opened the port) still gets them.
//   2. The guest sends Ready once it serves requests; it carries boot timings.
//   3. Requests carry a host-chosen id. An exec: Exec -> ExecStarted ->
//      stdout_data/stderr_data ... -> Exit. The host may send stdin_data,
//      stdin_eof, Signal and WindowSize for that id while it runs. A request
//      that fails before it starts gets a Failure with its id instead.
//      With "credit", each data-carrying direction of a stream is windowed:
//      the receiver grants Credit for the stream's id (proto/flow.h).
//   4. Poweroff: the guest stops its processes, syncs, unmounts and powers off;
//      the channel closes when the VM is gone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/wire.h"

namespace banger::proto {

inline constexpr uint32_t kProtocolVersion = 1;

// Capabilities a peer announces in Hello. The agent of this version serves:
inline constexpr const char* kCapExec = "exec";      // Exec, stdout/stderr, Exit
inline constexpr const char* kCapStdin = "stdin";    // stdin_data / stdin_eof
inline constexpr const char* kCapTty = "tty";        // Exec.tty, WindowSize
inline constexpr const char* kCapSignal = "signal";  // Signal
inline constexpr const char* kCapPoweroff = "poweroff";
inline constexpr const char* kCapFile = "file";    // file_put / file_get
inline constexpr const char* kCapPorts = "ports";  // ports_request
inline constexpr const char* kCapStats = "stats";  // stats_request
// Per-stream flow control (proto/flow.h), on when both peers announce it:
// the agent sends an exec's stdout+stderr, or a file_get's data, only as far
// as the host granted with Credit; the host sends an exec's stdin likewise.
inline constexpr const char* kCapCredit = "credit";
inline constexpr const char* kCapIdentity = "identity";  // identity after a restore

// Appends fields to a payload.
class Writer {
 public:
  Writer& u8(uint8_t v);
  Writer& u16(uint16_t v);
  Writer& u32(uint32_t v);
  Writer& u64(uint64_t v);
  Writer& i32(int32_t v) { return u32(static_cast<uint32_t>(v)); }
  Writer& str(std::string_view s);
  Writer& strs(const std::vector<std::string>& v);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields from a payload; throws ProtocolError naming `what` when the
// payload is too short.
class Reader {
 public:
  Reader(std::string_view in, const char* what) : in_(in), what_(what) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  int32_t i32() { return static_cast<int32_t>(u32()); }
  std::string str();
  std::vector<std::string> strs();
  bool done() const { return in_.empty(); }

 private:
  const char* need(size_t n);
  std::string_view in_;
  const char* what_;
};

struct Hello {
  uint32_t version = kProtocolVersion;      // the version this side speaks
  uint32_t min_version = kProtocolVersion;  // the oldest version it accepts
  std::string software;                     // "banger-agent 0.1.0", "banger 0.1.0"
  std::vector<std::string> capabilities;
  std::string encode() const;
  static Hello decode(std::string_view p);
  bool has(std::string_view cap) const;
};

// The version both speak: min(mine.version, theirs.version), if each accepts
// it. Throws ProtocolError ("protocol version mismatch: ...") otherwise.
uint32_t negotiate(const Hello& mine, const Hello& theirs);

struct Ready {
  uint32_t kernel_to_init_ms = 0;  // kernel start -> the first init runs (/proc/uptime)
  uint32_t init_to_ready_ms = 0;   // first init -> the agent serves the channel
  uint32_t uptime_ms = 0;          // guest uptime when ready
  std::string mode;                // "pid1" or "service"
  std::string hostname;
  std::string kernel;  // uname -r
  std::string encode() const;
  static Ready decode(std::string_view p);
};

struct Exec {
  std::vector<std::string> argv;  // argv[0] is looked up on the command's PATH
  std::vector<std::string> env;   // NAME=VALUE, added to (or replacing) the default environment
  std::string cwd;                // empty: the user's home directory, else /
  std::string user;               // empty: root; a name, or UID[:GID]
  bool tty = false;               // run on a pseudo-terminal (stdout and stderr merged)
  bool stdin = false;             // the host sends stdin_data/stdin_eof; else stdin is /dev/null
  uint16_t rows = 24, cols = 80;  // the tty's initial size
  std::string encode() const;
  static Exec decode(std::string_view p);
};

struct ExecStarted {
  int32_t pid = 0;
  std::string encode() const;
  static ExecStarted decode(std::string_view p);
};

struct Exit {
  int32_t code = 0;          // exit status, or 128 + signal when killed
  int32_t signal = 0;        // the signal that killed it, 0 if it exited
  uint64_t duration_us = 0;  // fork to reap, measured by the guest
  std::string encode() const;
  static Exit decode(std::string_view p);
};

struct Signal {
  int32_t signo = 0;  // Linux signal number
  std::string encode() const;
  static Signal decode(std::string_view p);
};

struct WindowSize {
  uint16_t rows = 24, cols = 80;
  std::string encode() const;
  static WindowSize decode(std::string_view p);
};

// A failed request (id != 0) or a complaint about the connection (id 0).
struct Failure {
  std::string kind;  // "invalid_input", "not_found", "io", "unsupported", "protocol"
  std::string message;
  std::string encode() const;
  static Failure decode(std::string_view p);
};

// A restored VM's new identity: the host's clock, fresh randomness for the
// guest's RNG, its hostname and (tap) network. Empty strings keep what the
// guest has.
struct Identity {
  static constexpr size_t kMaxEntropy = 512;
  uint64_t unix_ns = 0;  // the host's CLOCK_REALTIME when sent
  std::string entropy;   // at most kMaxEntropy bytes
  std::string hostname;
  std::string address;  // "10.77.0.5/24"
  std::string gateway;
  std::string mac;  // "52:54:00:.."
  std::string encode() const;
  static Identity decode(std::string_view p);
};

struct Poweroff {
  bool reboot = false;
  std::string encode() const;
  static Poweroff decode(std::string_view p);
};

// ---- file copy and observation ----
// file_put: FilePut, file_data*, file_end -> the guest answers file_end (the
//   file is in place: written beside the target, then renamed) or error.
// file_get: FileGet -> the guest answers file_info, file_data*, file_end, or error.
// ports_request -> Ports;  stats_request -> Stats.

struct FilePut {
  std::string path;
  uint32_t mode = 0644;
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;  // bytes that follow in file_data frames
  std::string encode() const;
  static FilePut decode(std::string_view p);
};

struct FileGet {
  std::string path;
  std::string encode() const;
  static FileGet decode(std::string_view p);
};

struct FileInfo {
  uint64_t size = 0;
  uint32_t mode = 0;
  std::string encode() const;
  static FileInfo decode(std::string_view p);
};

// For an exec, one window covers stdout and stderr together (host -> guest
// credit) and another its stdin (guest -> host credit); for a file_get, its
// file_data. Only payload bytes count, not frame headers.
struct Credit {
  uint32_t bytes = 0;  // more bytes the sender of stream `id` may send
  std::string encode() const;
  static Credit decode(std::string_view p);
};

struct Port {
  std::string proto;  // "tcp", "tcp6", "udp", "udp6"
  std::string address;
  uint16_t port = 0;
};
struct Ports {
  std::vector<Port> ports;
  std::string encode() const;
  static Ports decode(std::string_view p);
};

struct Stats {
  uint64_t mem_total_kib = 0, mem_available_kib = 0;
  uint64_t cpu_user_ms = 0, cpu_system_ms = 0, cpu_idle_ms = 0;
  uint32_t load1_centi = 0;  // 1-minute load average x 100
  uint32_t processes = 0;
  std::string encode() const;
  static Stats decode(std::string_view p);
};

}  // namespace banger::proto
