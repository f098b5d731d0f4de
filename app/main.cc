// banger: throwaway microVM sandboxes from OCI images. Everything past
// start-up is Lua (lua/stdlib/banger/cli.lua), except the per-VM supervisor,
// an internal mode of this same binary (host/supervisor/supervisor.h), and
// the relay user networking runs for an allowed host port (`__connect`).
#include <cstdlib>
#include <cstring>

#include "bindings/runtime.h"
#include "host/core/log.h"
#include "host/net/relay.h"
#include "host/supervisor/supervisor.h"

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "__supervise") == 0) {
    banger::init_logging(true);
    return banger::supervisor::supervise(argv[2], argc >= 4 ? std::atoi(argv[3]) : -1);
  }
  // Run by the user network stack for each guest connection to an allowed
  // host port (host/net/user_net.h).
  if (argc == 4 && std::strcmp(argv[1], "__connect") == 0)
    return banger::net::connect_stdio(argv[2], std::atoi(argv[3]));
  return banger::lua::main(argc, argv);
}
