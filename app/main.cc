// banger: throwaway microVM sandboxes from OCI images. Everything past
// start-up is Lua (lua/stdlib/banger/cli.lua), except the per-VM supervisor,
// an internal mode of this same binary (host/supervisor/supervisor.h).
#include <cstdlib>
#include <cstring>

#include "bindings/runtime.h"
#include "host/core/log.h"
#include "host/supervisor/supervisor.h"

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "__supervise") == 0) {
    banger::init_logging(true);
    return banger::supervisor::supervise(argv[2], argc >= 4 ? std::atoi(argv[3]) : -1);
  }
  return banger::lua::main(argc, argv);
}
