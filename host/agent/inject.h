// inject_agents: puts banger's guest agent into a root filesystem image, so
// that any OCI image boots (the agent is PID 1 by default) and answers.
#pragma once

#include <string>

namespace banger::ext4 {
class Editor;
}

namespace banger::agents {

// The agent binary on the host: $BANGER_AGENT, else `banger-agent` next to
// the running executable (or one directory up, for the test binary), else
// /usr/lib/banger/banger-agent. Not found: a not_found error with a hint.
std::string find_agent_binary();

struct InjectResult {
  std::string path;          // inside the image
  unsigned long long bytes;  // size of the agent
  std::string service_unit;  // the systemd unit installed, or "" (no systemd in the image)
};

// Writes the agent at proto::kAgentPath (proto/boot.h), owned by root, mode 0755. A symlink (or
// file) at /.banger or at the agent path is replaced, never followed, so an
// image cannot redirect the write elsewhere. Where the image has systemd, also
// installs the unit that starts the agent as a service (service_unit.h).
InjectResult inject_agent(ext4::Editor& image, const std::string& agent_binary);

// Whether the image's agent is `agent_binary` byte for byte. An image keeps
// the agent it was pulled with, and an older agent lacks newer tools (one
// that does not know --mount-workspace would serve the channel instead).
bool has_agent(ext4::Editor& image, const std::string& agent_binary);

}  // namespace banger::agents
