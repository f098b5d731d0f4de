#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/vm/spec_json.h"
#include "host/vm/vm.h"
#include "tests/support/error_text.h"

using namespace banger;
using namespace banger::vm;
using Json = nlohmann::json;

TEST_CASE("vm spec json: every key read, missing ones take spec.h's defaults", "[vm-unit]") {
  Spec d = spec_from_json(Json::object());
  CHECK(d.cpus == 1);
  CHECK(d.memory_mib == 512);
  CHECK(d.accel == "auto");
  CHECK(d.ready_timeout == std::chrono::milliseconds(60000));
  CHECK(d.qemu == "qemu-system-x86_64");
  CHECK(d.net.mode == "user");
  CHECK(d.workspace_disk.empty());
  CHECK(d.workspace_path == "/work");
  CHECK_FALSE(d.workspace_later);

  Spec s = spec_from_json(Json::parse(R"({
    "name": "box", "kernel": "/k", "initrd": "/i", "cmdline": "loglevel=7", "init": "/sbin/init", "rootfs": "/r",
    "overlay": "/o.qcow2", "cpus": 2, "memory_mib": 1024, "state_dir": "/s", "accel": "tcg",
    "ready_timeout_ms": 180000, "qemu": "/usr/bin/qemu", "workspace_disk": "/s/w.ext4", "workspace_path": "/src",
    "workspace_later": true,
    "net": {"mode": "tap", "tap": "bg0", "mac": "52:00:00:00:00:01", "address": "10.77.0.5/24",
            "gateway": "10.77.0.1", "dns": "10.77.0.1",
            "forwards": [{"host_port": 2222, "guest_port": 22}, {"proto": "udp", "host_addr": "127.0.0.2", "host_port": 53, "guest_port": 53}],
            "allow_host": [{"port": 5432}, {"proto": "udp", "port": 53}]}})"));
  CHECK(s.name == "box");
  CHECK(s.kernel == "/k");
  CHECK(s.initrd == "/i");
  CHECK(s.cmdline == "loglevel=7");
  CHECK(s.init == "/sbin/init");
  CHECK(s.rootfs == "/r");
  CHECK(s.overlay == "/o.qcow2");
  CHECK(s.cpus == 2);
  CHECK(s.memory_mib == 1024);
  CHECK(s.state_dir == "/s");
  CHECK(s.accel == "tcg");
  CHECK(s.ready_timeout == std::chrono::milliseconds(180000));
  CHECK(s.qemu == "/usr/bin/qemu");
  CHECK(s.workspace_disk == "/s/w.ext4");
  CHECK(s.workspace_path == "/src");
  CHECK(s.workspace_later);
  CHECK(s.net.mode == "tap");
  CHECK(s.net.tap == "bg0");
  CHECK(s.net.mac == "52:00:00:00:00:01");
  CHECK(s.net.address == "10.77.0.5/24");
  CHECK(s.net.gateway == "10.77.0.1");
  CHECK(s.net.dns == "10.77.0.1");
  REQUIRE(s.net.forwards.size() == 2);
  CHECK(s.net.forwards[0].proto == "tcp");
  CHECK(s.net.forwards[0].host_addr == "127.0.0.1");
  CHECK(s.net.forwards[0].host_port == 2222);
  CHECK(s.net.forwards[0].guest_port == 22);
  CHECK(s.net.forwards[1].proto == "udp");
  CHECK(s.net.forwards[1].host_addr == "127.0.0.2");
  REQUIRE(s.net.allow_host.size() == 2);
  CHECK(s.net.allow_host[0].proto == "tcp");
  CHECK(s.net.allow_host[0].port == 5432);
  CHECK(s.net.allow_host[1].proto == "udp");
  CHECK(s.net.allow_host[1].port == 53);
}

TEST_CASE("vm spec json: Lua's empty table is an empty list", "[vm-unit]") {
  Spec s = spec_from_json(Json::parse(R"({"net": {"forwards": {}, "allow_host": {}}})"));
  CHECK(s.net.forwards.empty());
  CHECK(s.net.allow_host.empty());
}

TEST_CASE("vm spec json: mounts are {host, guest, read_only}, read_only false unless given", "[vm-unit]") {
  CHECK(spec_from_json(Json::parse(R"({"mounts": {}})")).mounts.empty());
  Spec s = spec_from_json(Json::parse(
      R"({"mounts": [{"host": "/h", "guest": "/g"}, {"host": "/d", "guest": "/data", "read_only": true}]})"));
  REQUIRE(s.mounts.size() == 2);
  CHECK((s.mounts[0].host == "/h" && s.mounts[0].guest == "/g" && !s.mounts[0].read_only));
  CHECK((s.mounts[1].host == "/d" && s.mounts[1].guest == "/data" && s.mounts[1].read_only));
  auto parse = [](const char* text) { return [text] { spec_from_json(Json::parse(text)); }; };
  CHECK(test::error_message(parse(R"({"mounts": [{"host": "/h", "guest": "/g", "ro": true}]})")) ==
        "vm spec.mounts[]: unknown key 'ro'");
  CHECK(test::error_message(parse(R"({"mounts": [{"host": "/h", "guest": "/g", "read_only": "yes"}]})")) ==
        "vm spec.mounts[].read_only must be a boolean");
  CHECK(test::error_message(parse(R"({"mounts": "/h:/g"})")) == "vm spec.mounts must be a list");
}

TEST_CASE("vm spec json: an unknown key or a wrong type is an error naming it", "[vm-unit]") {
  auto parse = [](const char* text) { return [text] { spec_from_json(Json::parse(text)); }; };
  CHECK(test::error_message(parse(R"({"ready_timeout": 5})")) == "vm spec: unknown key 'ready_timeout'");
  CHECK(test::error_message(parse(R"({"net": {"host_ports": [5432]}})")) ==
        "vm spec.net: unknown key 'host_ports'");
  CHECK(test::error_message(parse(R"({"net": {"forwards": [{"host": 1}]}})")) ==
        "port forward: unknown key 'host'");
  CHECK(test::error_message(parse(R"({"net": {"allow_host": [{"port": 1, "to": 2}]}})")) ==
        "allowed host port: unknown key 'to'");
  CHECK(test::error_message(parse(R"({"cpus": "two"})")) == "vm spec.cpus must be a number");
  CHECK(test::error_message(parse(R"({"kernel": 1})")) == "vm spec.kernel must be a string");
  CHECK(test::error_message(parse(R"({"net": {"forwards": 1}})")) == "vm spec.net.forwards must be a list");
  CHECK(test::error_message(parse(R"([])")) == "vm spec must be a table");
  try {
    spec_from_json(Json::parse(R"({"nmae": "x"})"));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.hint() == "see lua/stdlib/banger/vmm.lua for the keys a vm spec takes");
  }
}

TEST_CASE("vm spec json: info has one key per field", "[vm-unit]") {
  Info i;
  i.name = "box";
  i.pid = 42;
  i.accel = "tcg";
  i.capabilities = {"exec", "credit"};
  i.boot.host_ready_ms = 1500;
  i.qemu_argv = {"qemu-system-x86_64", "-M", "microvm"};
  Json j = info_to_json(i);
  CHECK(j["name"] == "box");
  CHECK(j["qemu_pid"] == 42);
  CHECK_FALSE(j.contains("pid"));
  CHECK(j["accel"] == "tcg");
  CHECK(j["capabilities"] == Json({"exec", "credit"}));
  CHECK(j["boot"]["host_ready_ms"] == 1500);
  CHECK(j["qemu_argv"].size() == 3);
}
