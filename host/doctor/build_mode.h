// How mmdebstrap builds catalog images (debian-bookworm) for this user, and
// why it cannot. As root: its `root` mode. Otherwise its `unshare` mode,
// which needs newuidmap and newgidmap (Debian's uidmap package, setuid),
// 65536 subordinate user and group ids for the user (/etc/subuid,
// /etc/subgid: Debian's adduser writes them, useradd may not) and
// unprivileged user namespaces. mmdebstrap's own `auto` gives up with
// "unable to pick chroot mode automatically" when these are missing.
#pragma once

#include <string>
#include <vector>

namespace banger::doctor {

struct BuildModeInputs {
  unsigned uid = 0;
  std::string user;  // the user's name ("" when it has none)
  std::string subuid = "/etc/subuid", subgid = "/etc/subgid";
  std::string userns_clone = "/proc/sys/kernel/unprivileged_userns_clone";
  std::string max_userns = "/proc/sys/user/max_user_namespaces";
  bool have_newuidmap = false, have_newgidmap = false;
};

// This process's user and host.
BuildModeInputs default_build_mode_inputs();

struct BuildMode {
  std::string mode;                  // "root" or "unshare"
  std::vector<std::string> missing;  // what unshare mode lacks (empty: it works)
  std::string fix;                   // the commands, as root, that provide it
};

BuildMode mmdebstrap_mode(const BuildModeInputs& in);

}  // namespace banger::doctor
