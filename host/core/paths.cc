#include "host/core/paths.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "host/core/error.h"
#include "host/core/fs.h"

namespace banger::paths {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : "";
}

// $HOME, else the home directory in the password database (as ssh and git
// do: services and `env -i` run without HOME).
std::string user_home() {
  std::string h = env_or_empty("HOME");
  if (!h.empty()) return h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir && *pw->pw_dir) return pw->pw_dir;
  fail(ErrorKind::invalid_input,
       "HOME is not set and user " + std::to_string(getuid()) + " has no home directory",
       "set HOME, or BANGER_HOME and XDG_CONFIG_HOME");
}

}  // namespace

std::string home() {
  std::string h = env_or_empty("BANGER_HOME");
  if (!h.empty()) return h;
  std::string data = env_or_empty("XDG_DATA_HOME");
  if (data.empty()) data = user_home() + "/.local/share";
  return data + "/banger";
}

std::string config_home() {
  std::string c = env_or_empty("XDG_CONFIG_HOME");
  if (c.empty()) c = user_home() + "/.config";
  return c + "/banger";
}

std::string blobs() { return home() + "/blobs"; }
std::string images() { return home() + "/images"; }
std::string kernels() { return home() + "/kernels"; }
std::string vms() { return home() + "/vms"; }
std::string snapshots() { return home() + "/snapshots"; }
std::string staging() { return home() + "/tmp"; }
std::string index_db() { return home() + "/index.db"; }

void ensure_layout() {
  for (const auto& d : {home(), blobs(), images(), kernels(), vms(), snapshots(), staging()})
    fs::make_dirs(d, 0700);
}

}  // namespace banger::paths
