// Per-stream flow control: the "credit" capability (messages.h).
//
// Each stream that carries data (an exec's output, its stdin, a file_get's
// contents) has a window per direction. Its sender starts with kStreamWindow
// bytes it may send and stops when they are used up; its receiver passes the
// data on (writes it to a terminal, a pipe, a file) and grants the bytes back
// with a Credit frame for the stream's id. So a reader that falls behind only
// holds up its own stream: the agent stops reading that one command's pipe
// (the command blocks in write), while the channel and every other stream
// keep moving, and nobody buffers more than a window per stream.
//
// Flow control is on only when both peers announce "credit" in Hello; a peer
// without it never grants, so the other side must not wait (SendWindow's
// default is unlimited).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace banger::proto {

// 512 KiB: the sender always has at least half a window in flight, which
// covers the credit round trip (a few ms under TCG through the supervisor):
// measured on a 2-core TCG host, 512 MiB of stdout and 256 MiB of stdin move
// as fast as without flow control. Small enough that a supervisor holding a
// window per stream of each slow client stays far under its 16 MiB cap.
inline constexpr uint32_t kStreamWindow = 512 * 1024;
// Receivers grant in batches this large: one small frame per 256 KiB.
inline constexpr uint32_t kGrantBatch = kStreamWindow / 2;

// The sending side of one stream: how much it may send now.
class SendWindow {
 public:
  // `limited`: the peer grants credit (both announced "credit").
  explicit SendWindow(bool limited = false) : limited_(limited) {}
  // Bytes that may be sent now (the maximum of size_t when unlimited).
  size_t room() const {
    return limited_ ? static_cast<size_t>(available_) : std::numeric_limits<size_t>::max();
  }
  void sent(size_t n) { available_ -= std::min<uint64_t>(n, available_); }
  void grant(uint32_t n) { available_ += n; }
  // Stop waiting for credit (the receiver went away or stopped granting).
  void unlimit() { limited_ = false; }
  bool limited() const { return limited_; }

 private:
  bool limited_;
  uint64_t available_ = kStreamWindow;
};

// The receiving side of one stream: counts the bytes passed on and says when
// to grant them back, in batches of kGrantBatch.
class ReceiveWindow {
 public:
  // Records `n` bytes passed on; returns the bytes to grant now (0: not yet).
  uint32_t consumed(size_t n) {
    pending_ += n;
    if (pending_ < kGrantBatch) return 0;
    uint32_t grant =
        static_cast<uint32_t>(std::min<uint64_t>(pending_, std::numeric_limits<uint32_t>::max()));
    pending_ -= grant;
    return grant;
  }

 private:
  uint64_t pending_ = 0;
};

}  // namespace banger::proto
