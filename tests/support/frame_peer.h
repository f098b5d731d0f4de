// One end of a socket speaking the framed protocol (proto/wire.h), for tests
// that stand in for the agent or a client with a socketpair.
#pragma once

#include <optional>
#include <string>

#include "proto/wire.h"

namespace banger::test {

class FramePeer {
 public:
  explicit FramePeer(int fd) : fd_(fd) {}  // takes ownership
  ~FramePeer();
  FramePeer(const FramePeer&) = delete;
  FramePeer& operator=(const FramePeer&) = delete;

  int fd() const { return fd_; }
  // Queues a frame and writes what the socket takes now, never blocking: a
  // test thread that also serves the other end must not wait on itself.
  void send(proto::Type type, uint32_t id, const std::string& payload = "");
  // Writes more of what is queued (next() does too).
  void flush();
  // The next frame, waiting at most `timeout_ms`; nullopt on timeout or EOF.
  std::optional<proto::Frame> next(int timeout_ms);
  // True once the other end closed (reads EOF); waits at most `timeout_ms`.
  bool closed_by_peer(int timeout_ms);
  void close();

 private:
  int fd_;
  bool eof_ = false;
  std::string out_;
  proto::Decoder decoder_;
};

}  // namespace banger::test
