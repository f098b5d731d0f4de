// The client that owns a VM's run (`banger vm run`): it stops the VM when
// its command ends, and removes it with --rm. When that client dies instead
// (kill -9, a closed terminal), nobody else would, so the supervisor watches
// it and does the client's part itself.
//
// In SPEC.json: "owner": {"pid": N, "remove": true|false} (absent: the VM
// lives until `vm stop`).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace banger::supervisor {

class Owner {
 public:
  // Watches spec["owner"]["pid"] through a pidfd, so a recycled pid is never
  // mistaken for the owner. A `null` spec watches nothing.
  explicit Owner(const nlohmann::json& owner);
  ~Owner();
  Owner(const Owner&) = delete;
  Owner& operator=(const Owner&) = delete;

  bool watched() const { return pid_ > 0; }
  // True once the owning process has exited (never for an unwatched VM).
  bool gone();
  // The VM goes with its owner (vm run --rm).
  bool remove() const { return remove_; }
  long pid() const { return pid_; }

 private:
  long pid_ = 0;
  int pidfd_ = -1;
  bool remove_ = false;
  bool gone_ = false;
};

// Replaces this process with `banger vm rm --force NAME`: what `vm run --rm`
// does after its command, so a user's own vm_rm recipe runs too. Returns only
// if the exec failed.
void exec_remove(const std::string& name);

}  // namespace banger::supervisor
