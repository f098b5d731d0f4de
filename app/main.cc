// banger: throwaway microVM sandboxes from OCI images. Everything past
// start-up is Lua: see lua/stdlib/banger/cli.lua.
#include "bindings/runtime.h"

int main(int argc, char** argv) { return banger::lua::main(argc, argv); }
