#include "host/supervisor/owner.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "host/supervisor/spawn.h"

namespace banger::supervisor {

Owner::Owner(const nlohmann::json& owner) {
  if (!owner.is_object()) return;
  pid_ = owner.value("pid", 0L);
  remove_ = owner.value("remove", false);
  if (pid_ <= 0) return;
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid_), 0));
  // ESRCH: the owner died before we looked.
  if (pidfd_ < 0) gone_ = errno == ESRCH;
  if (pidfd_ < 0 && !gone_) spdlog::warn("watching the VM's owner (pid {}): {}", pid_, std::strerror(errno));
}

Owner::~Owner() {
  if (pidfd_ >= 0) ::close(pidfd_);
}

bool Owner::gone() {
  if (gone_ || pidfd_ < 0) return gone_;
  // A pidfd turns readable when its process exits.
  pollfd p{pidfd_, POLLIN, 0};
  if (::poll(&p, 1, 0) > 0) gone_ = true;
  return gone_;
}

void exec_remove(const std::string& name) {
  std::string exe;
  try {
    exe = banger_binary();
  } catch (const std::exception& e) {
    spdlog::error("VM '{}': cannot remove it: {}", name, e.what());
    return;
  }
  spdlog::info("VM '{}': removing it (its owner asked for --rm)", name);
  ::execl(exe.c_str(), exe.c_str(), "vm", "rm", "--force", name.c_str(), static_cast<char*>(nullptr));
  spdlog::error("VM '{}': running {} vm rm: {}", name, exe, std::strerror(errno));
}

}  // namespace banger::supervisor
