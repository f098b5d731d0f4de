// A small client of QEMU's machine protocol (QMP) over the VM's Unix socket.
// QEMU is trusted more than the guest, but a line is still bounded
// (kMaxLine) and every wait has a deadline. Events that arrive between
// replies are dropped: the supervisor asks for the state it needs.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace banger::vm {

class Qmp {
 public:
  static constexpr size_t kMaxLine = 1 << 20;

  // Connects to `socket_path` (retrying until `deadline` while QEMU creates
  // it), reads the greeting and enters command mode. `vm` names the VM in
  // errors.
  static Qmp connect(const std::string& socket_path, const std::string& vm,
                     std::chrono::steady_clock::time_point deadline);
  Qmp(Qmp&& o) noexcept;
  Qmp& operator=(Qmp&& o) noexcept;
  Qmp(const Qmp&) = delete;
  Qmp& operator=(const Qmp&) = delete;
  ~Qmp();

  // Runs `command` and returns its "return" value. A QMP error is an io
  // error naming the command and QEMU's description.
  nlohmann::json execute(const std::string& command, const nlohmann::json& arguments = nullptr,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  Qmp(int fd, std::string vm) : fd_(fd), vm_(std::move(vm)) {}
  nlohmann::json read_message(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string vm_;
  std::string buffer_;
};

}  // namespace banger::vm
