// The framed host<->guest protocol: one byte-stream format for the
// virtio-serial port (QEMU) and vsock (Firecracker, later). Shared, unchanged,
// by the host (host/vm) and the static guest agent (guest/), so it depends on
// nothing but the C++ standard library.
//
// A frame is a 16-byte header followed by `length` payload bytes:
//
//   offset size  field
//   0      4     magic   "BNGR" (0x42 0x4e 0x47 0x52)
//   4      1     wire version (kWireVersion; any other value is rejected)
//   5      1     type    (Type below)
//   6      2     flags   (reserved, 0)
//   8      4     id      request/stream id, little-endian (0 = the connection)
//   12     4     length  payload bytes, little-endian, at most the receiver's cap
//
// Both sides cap the payload at kMaxPayload (1 MiB) and reject a larger frame
// from its header alone, before buffering any of it, so a hostile or broken
// peer cannot make the other side buffer without bound.
//
// Payloads are the messages of proto/messages.h. Their fields are positional;
// a newer peer may append fields at the end, which an older peer ignores, so
// compatible additions need no version bump. Incompatible changes bump
// kProtocolVersion, which the Hello handshake checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace banger::proto {

inline constexpr char kMagic[4] = {'B', 'N', 'G', 'R'};
inline constexpr uint8_t kWireVersion = 1;
inline constexpr size_t kHeaderSize = 16;
inline constexpr uint32_t kMaxPayload = 1u << 20;
// The payload size senders use for streamed data (stdout, file contents), far
// below the cap so one stream cannot hog the channel.
inline constexpr uint32_t kDataChunk = 32 * 1024;

// Message types. Host -> guest (H>G), guest -> host (G>H), or both.
// The `id` of a frame names the request or stream it belongs to: an exec, a
// file copy, ...; 0 for connection-level messages. Ids are chosen by the host
// and unique among its live requests, so several execs run at once.
enum class Type : uint8_t {
  // connection
  hello = 1,     // both: Hello. Version + capabilities, see messages.h
  ready = 2,     // G>H: Ready. The agent serves requests; boot timings
  ping = 3,      // both: empty payload (or opaque bytes echoed)
  pong = 4,      // both: the ping's payload echoed
  error = 5,     // both: Failure. A request (id) failed, or a protocol error (id 0)
  poweroff = 6,  // H>G: Poweroff. Sync, unmount, power off (or reboot)
  // H>G: Identity, after a restore from a snapshot: what a copy of a VM must
  // not share. The guest answers identity (empty payload) once applied, or
  // error with the same id.
  identity = 7,

  // exec (id = the exec)
  exec = 16,          // H>G: Exec
  exec_started = 17,  // G>H: ExecStarted (pid)
  stdin_data = 18,    // H>G: raw bytes for the process's stdin (or tty)
  stdin_eof = 19,     // H>G: close the process's stdin
  stdout_data = 20,   // G>H: raw bytes from stdout (or the tty)
  stderr_data = 21,   // G>H: raw bytes from stderr
  exit = 22,          // G>H: Exit. Last frame of an exec
  signal = 23,        // H>G: Signal. Deliver a signal to the process group
  window_size = 24,   // H>G: WindowSize. Resize the exec's tty

  // file copy (id = the transfer). Designed, served from issue 5 on.
  file_put = 32,   // H>G: FilePut (path, mode, uid, gid); then file_data*, file_end
  file_get = 33,   // H>G: FileGet (path); guest answers file_info, file_data*, file_end
  file_data = 34,  // both: raw bytes of the file, in order
  file_end = 35,   // both: end of the data; for put, the guest answers file_end or error
  file_info = 36,  // G>H: FileInfo (size, mode) before a get's data

  // observation. Designed, served from issue 5 on.
  ports_request = 40,  // H>G: empty
  ports = 41,          // G>H: Ports (listening sockets)
  stats_request = 42,  // H>G: empty
  stats = 43,          // G>H: Stats (memory, cpu, load)

  // flow control: the receiver of a stream grants the sender more bytes.
  credit = 48,  // both: Credit (bytes) for the stream `id`
};

const char* type_name(Type t);

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Frame {
  Type type{};
  uint32_t id = 0;
  std::string payload;
};

// The bytes of one frame. Throws ProtocolError if the payload exceeds `cap`.
std::string encode_frame(Type type, uint32_t id, std::string_view payload, uint32_t cap = kMaxPayload);

// Incremental decoder: feed() whatever a read() returned, then call next()
// until it returns nullopt. Throws ProtocolError on a bad magic, an unknown
// wire version or an oversize length, as soon as the header is complete.
// After an error the decoder stays failed (the stream is out of sync).
class Decoder {
 public:
  explicit Decoder(uint32_t cap = kMaxPayload) : cap_(cap) {}
  void feed(const char* data, size_t n);
  void feed(std::string_view data) { feed(data.data(), data.size()); }
  std::optional<Frame> next();
  // Bytes held that do not yet form a whole frame.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  uint32_t cap_;
  std::string buf_;
  size_t pos_ = 0;
  std::string failed_;
};

}  // namespace banger::proto
