#include "host/doctor/build_mode.h"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "host/core/process.h"

namespace banger::doctor {

namespace {

// unshare mode maps the whole 16-bit id space of the image.
constexpr unsigned long kIds = 65536;

// True when FILE has a line NAME:START:COUNT (or UID:START:COUNT) with at
// least kIds ids.
bool has_range(const std::string& file, const std::string& user, unsigned uid) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string who, start, count;
    if (!std::getline(fields, who, ':') || !std::getline(fields, start, ':') || !std::getline(fields, count))
      continue;
    if (who != user && who != std::to_string(uid)) continue;
    try {
      if (std::stoul(count) >= kIds) return true;
    } catch (const std::exception&) {
    }
  }
  return false;
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

BuildModeInputs default_build_mode_inputs() {
  BuildModeInputs in;
  in.uid = geteuid();
  if (const passwd* pw = getpwuid(in.uid)) in.user = pw->pw_name;
  in.have_newuidmap = find_executable("newuidmap").has_value();
  in.have_newgidmap = find_executable("newgidmap").has_value();
  return in;
}

BuildMode mmdebstrap_mode(const BuildModeInputs& in) {
  BuildMode m;
  if (in.uid == 0) {
    m.mode = "root";
    return m;
  }
  m.mode = "unshare";
  std::vector<std::string> fixes;
  if (!in.have_newuidmap || !in.have_newgidmap) {
    m.missing.push_back("newuidmap and newgidmap, which are not installed");
    fixes.push_back("apt-get install uidmap");
  }
  const std::string who = in.user.empty() ? std::to_string(in.uid) : in.user;
  // 100000 is where Debian's adduser starts; pick a range no other user has.
  const std::string range = who + ":100000:65536";
  for (const auto& [file, kind] : {std::pair{in.subuid, "user"}, std::pair{in.subgid, "group"}}) {
    if (!has_range(file, in.user, in.uid)) {
      m.missing.push_back("65536 subordinate " + std::string(kind) + " ids for '" + who + "' in " + file +
                          ", which has none");
      fixes.push_back("echo " + range + " >> " + file);
    }
  }
  if (first_line(in.userns_clone) == "0") {
    m.missing.push_back("unprivileged user namespaces, which " + in.userns_clone + " turns off");
    fixes.push_back("sysctl -w kernel.unprivileged_userns_clone=1");
  }
  if (first_line(in.max_userns) == "0") {
    m.missing.push_back("user namespaces, which " + in.max_userns + " limits to 0");
    fixes.push_back("sysctl -w user.max_user_namespaces=15000");
  }
  for (size_t i = 0; i < fixes.size(); i++) m.fix += (i ? "; " : "as root: ") + fixes[i];
  return m;
}

}  // namespace banger::doctor
