#include "host/net/egress_hook.h"

#include <atomic>

#include "host/core/error.h"

namespace banger::net {

namespace {
std::atomic<EgressHookFactory> g_factory{nullptr};
}  // namespace

void set_egress_hook_factory(EgressHookFactory factory) { g_factory = factory; }

std::unique_ptr<EgressHook> make_egress_hook(const std::string& source, const std::string& name) {
  EgressHookFactory f = g_factory;
  if (!f) fail(ErrorKind::unsupported, "egress hook " + name + ": this process cannot run Lua hooks");
  return f(source, name);
}

}  // namespace banger::net
