#include "host/agent/inject.h"

#include <linux/limits.h>
#include <unistd.h>

#include <cstdlib>

#include "host/agent/service_unit.h"
#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/ext4/editor.h"
#include "proto/boot.h"

namespace banger::agents {

namespace {

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, n);
  return p.substr(0, p.rfind('/'));
}

}  // namespace

std::string find_agent_binary() {
  if (const char* env = std::getenv("BANGER_AGENT"); env && *env) {
    if (!fs::exists(env))
      fail(ErrorKind::not_found, std::string("guest agent not found: ") + env + " (from BANGER_AGENT)",
           "point BANGER_AGENT at a built banger-agent, or unset it");
    return env;
  }
  std::string dir = self_dir();
  // Beside the binary (a build directory; the test binary is one below it),
  // or where `cmake --install` and the .deb put it: PREFIX/lib/banger/ for
  // PREFIX/bin/banger.
  for (const auto& cand :
       {dir + "/banger-agent", dir + "/../banger-agent", dir + "/../lib/banger/banger-agent"})
    if (fs::exists(cand)) return cand;
  fail(ErrorKind::not_found, "guest agent not found next to " + dir + "/banger",
       "build it (cmake --build build) so build/banger-agent sits beside build/banger");
}

InjectResult inject_agent(ext4::Editor& image, const std::string& agent_binary) {
  std::string data = fs::read_file(agent_binary);
  // Anything but a real directory at /.banger goes: a symlink there could
  // point the write at /sbin/init or outside what we mean to touch.
  if (image.exists(proto::kAgentDir) && image.stat(proto::kAgentDir).type != ext4::FileType::directory)
    image.rm(proto::kAgentDir);
  if (!image.exists(proto::kAgentDir)) image.mkdir(proto::kAgentDir, 0755, ext4::Owner{0, 0});
  image.chown(proto::kAgentDir, ext4::Owner{0, 0});
  image.chmod(proto::kAgentDir, 0755);
  // write() replaces a symlink or file at the path instead of following it.
  if (image.exists(proto::kAgentPath) && image.stat(proto::kAgentPath).type == ext4::FileType::directory)
    image.rm(proto::kAgentPath, true);
  image.write(proto::kAgentPath, data, 0755, ext4::Owner{0, 0});
  return {proto::kAgentPath, data.size(), install_service_unit(image)};
}

bool has_agent(ext4::Editor& image, const std::string& agent_binary) {
  if (!image.exists(proto::kAgentPath)) return false;
  std::string ours = fs::read_file(agent_binary);
  ext4::Stat st = image.stat(proto::kAgentPath);
  if (st.type != ext4::FileType::regular || st.size != ours.size()) return false;
  return image.read(proto::kAgentPath) == ours;
}

}  // namespace banger::agents
