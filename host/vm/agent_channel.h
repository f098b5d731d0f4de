// The host end of the agent protocol over a connected stream socket. The
// guest is untrusted: frames are capped (proto::Decoder), a bad magic or
// version ends the connection with an error, and every wait is bounded.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "proto/messages.h"
#include "proto/wire.h"

namespace banger::vm {

using Clock = std::chrono::steady_clock;

class AgentChannel {
 public:
  explicit AgentChannel(int fd);  // takes ownership; sets O_NONBLOCK
  ~AgentChannel();
  AgentChannel(const AgentChannel&) = delete;
  AgentChannel& operator=(const AgentChannel&) = delete;

  int fd() const { return fd_; }
  bool closed() const { return closed_; }

  // Writes one frame, waiting at most until `deadline` for the socket to take
  // it. Throws io on a closed channel or a timeout.
  void send(proto::Type type, uint32_t id, const std::string& payload, Clock::time_point deadline);

  // The next frame if one is buffered, else reads once if data is ready
  // (waiting at most `wait`). nullopt: nothing yet. Throws io when the guest
  // closed the channel or broke the protocol.
  std::optional<proto::Frame> receive(std::chrono::milliseconds wait);

 private:
  int fd_;
  bool closed_ = false;
  proto::Decoder decoder_;
};

}  // namespace banger::vm
