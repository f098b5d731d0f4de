#include "host/supervisor/vmm_control.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/net/egress.h"
#include "host/vm/snapshot.h"
#include "host/vm/vm.h"

namespace banger::supervisor {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

std::string VmmControl::handle(const std::string& request) {
  Json req = Json::parse(request, nullptr, false);
  if (!req.is_object() || !req.contains("op") || !req["op"].is_string())
    fail(ErrorKind::invalid_input, "malformed control request");
  const std::string op = req["op"];
  const std::string& name = machine.info().name;
  auto t0 = Clock::now();
  if (op == "pause") {
    bool was = machine.paused();
    machine.pause();
    // Recorded after QEMU stopped the CPUs: `vm ls` never says paused early.
    update_record({{"state", "paused"}});
    if (!was) spdlog::info("VM '{}': paused", name);
    return Json{{"paused", true}, {"already", was}, {"ms", ms_since(t0)}}.dump();
  }
  if (op == "resume") {
    bool was = machine.paused();
    machine.resume();
    update_record({{"state", "running"}});
    if (was) spdlog::info("VM '{}': resumed", name);
    return Json{{"paused", false}, {"already", !was}, {"ms", ms_since(t0)}}.dump();
  }
  if (op == "snapshot") {
    if (!req.contains("dir") || !req["dir"].is_string())
      fail(ErrorKind::invalid_input, "snapshot request without a directory");
    const std::string overlay = machine.info().overlay;
    vm::SaveResult r;
    try {
      r = vm::save_snapshot(machine, req["dir"].get<std::string>());
    } catch (const Error&) {
      // Failed after the VM moved onto a new disk: its next boot must use that one.
      if (machine.info().overlay != overlay) update_record({{"overlay", machine.info().overlay}});
      throw;
    }
    // The next boot of this VM uses the disk it writes to now.
    update_record({{"overlay", r.new_overlay}});
    Json out = r.to_json();
    out["agent"] = machine.info().agent;
    out["accel"] = machine.info().accel;
    return out.dump();
  }
  if (op == "egress") {
    auto strings = [&](const char* key) {
      std::vector<std::string> out;
      if (req.contains(key) && req[key].is_array())
        for (const auto& s : req[key])
          if (s.is_string()) out.push_back(s.get<std::string>());
      return out;
    };
    auto text = [&](const char* key) {
      return req.contains(key) && req[key].is_string() ? req[key].get<std::string>() : std::string();
    };
    if (set_tap_egress) {
      set_tap_egress(net::parse_egress(strings("egress"), strings("add_hosts"), text("egress_hook"),
                                       text("egress_hook_name")));
    } else {
      machine.set_egress(strings("egress"), strings("add_hosts"), text("egress_hook"),
                         text("egress_hook_name"));
    }
    spdlog::info("VM '{}': egress policy set", name);
    return Json{{"ms", ms_since(t0)}}.dump();
  }
  fail(ErrorKind::invalid_input, "unknown control operation '" + op + "'");
}

}  // namespace banger::supervisor
