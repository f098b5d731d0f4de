// Polling for a condition that becomes true a moment later (a process
// exits, a record changes): the one helper the end-to-end tests share.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace banger::test {

// Polls `ok` every 100 ms for at most `seconds`; its last answer.
inline bool eventually(int seconds, const std::function<bool()>& ok) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ok();
}

}  // namespace banger::test
