// A project's own egress decision, per connection: a Lua function that gets
// {proto, dst_ip, dst_port, name} and returns allow or deny. host/ never
// touches Lua, so the hook is built by a factory the Lua bindings register
// (bindings/egress_hook.cc: a restricted state with no access to the host,
// bounded in time); the policy only holds its source.
#pragma once

#include <memory>
#include <string>

namespace banger::net {

struct EgressAttempt;

class EgressHook {
 public:
  virtual ~EgressHook() = default;
  // True allows. `why` says what decided: "hook", or why it denied ("hook:
  // error: ...", "hook: took longer than 50 ms", "hook: returned ...").
  virtual bool decide(const EgressAttempt& a, std::string& why) = 0;
};

// `source`: Lua source or bytecode of a chunk that returns the function;
// `name`: where it came from, for errors. Throws invalid_input when it does
// not load or return a function.
using EgressHookFactory = std::unique_ptr<EgressHook> (*)(const std::string& source, const std::string& name);

void set_egress_hook_factory(EgressHookFactory factory);
// The hook, or an unsupported error when no factory is registered.
std::unique_ptr<EgressHook> make_egress_hook(const std::string& source, const std::string& name);

}  // namespace banger::net
