// End to end under TCG: VM state under concurrency and crashes. Parallel
// starts of one VM, a start right after a stop, and the client of a `vm run`
// killed with SIGKILL, with real processes and real VMs.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <sqlite3.h>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/eventually.h"
#include "tests/support/sandbox_home.h"

using namespace banger;
using namespace banger::test;
using Json = nlohmann::json;

TEST_CASE(
    "e2e state: three parallel vm start of one tap VM - one boots it, the others find it running and touch "
    "nothing",
    "[e2e][vm][tap][state]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "par", "--net", "tap"});
  std::vector<Process> starts;
  for (int i = 0; i < 3; i++)
    starts.push_back(start_banger(home, {"vm", "start", "par"}, home.path("start" + std::to_string(i))));
  int started = 0, already = 0;
  for (int i = 0; i < 3; i++) {
    CHECK(starts[i].wait() == 0);
    std::string out = fs::read_file(home.path("start" + std::to_string(i)));
    INFO(out);
    // (The winner's progress lines, on stderr, come first.)
    if (out.find("\nstarted VM 'par' (") != std::string::npos) started++;
    if (out == "VM 'par' is already running\n") already++;
  }
  CHECK(started == 1);
  CHECK(already == 2);

  // The winner's VM is whole: its console log, its tap on the bridge, its
  // nftables rules, and the guest answers on its address.
  Json rec = vm_record(home, "par");
  REQUIRE(rec["state"] == "running");
  std::string ip = rec["ip"];
  REQUIRE(fs::exists(home.path("home/vms/par/console.log")));
  CHECK_FALSE(fs::read_file(home.path("home/vms/par/console.log")).empty());
  // Its tap carries its label ("banger:OWNER:par:IP"), its rules their comment.
  CHECK(run_capture({"ip", "-o", "link", "show"}).out.find(":par:" + ip) != std::string::npos);
  CHECK(run_capture({"nft", "list", "ruleset"}).out.find(":par\"") != std::string::npos);
  CHECK(run_capture({"ping", "-c", "1", "-W", "5", ip}).exit_code == 0);
  CHECK(home.must({"vm", "exec", "par", "--", "echo", "ok"}).out == "ok\n");
  CHECK(qemu_processes(home.path("home/vms/par/")) == 1);

  // Below the command's lock, a second supervisor of the running VM (from
  // its own spec) gives up before it touches anything of the first.
  std::string console = fs::read_file(home.path("home/vms/par/console.log"));
  auto env = home.env();
  std::vector<std::string> argv = {"env"};
  for (const auto& [k, v] : env.env) argv.push_back(k + "=" + v);
  for (const std::string& a :
       std::vector<std::string>{"sh", "-c", "exec \"$0\" __supervise \"$1\" 3 3>&1 2>/dev/null",
                                banger_binary(), home.path("home/vms/par/spec.json")})
    argv.push_back(a);
  auto second = run_capture(argv);
  CHECK(second.exit_code == 1);
  CHECK(second.out.find("\nerror {\"hint\":\"wait for it to finish and try again\",\"kind\":\"conflict\","
                        "\"message\":\"VM 'par' is busy: another banger process is working on it\"}\n") !=
        std::string::npos);
  CHECK(fs::read_file(home.path("home/vms/par/console.log")) == console);
  Json after = vm_record(home, "par");
  CHECK(after["state"] == "running");
  CHECK(after["supervisor_pid"] == rec["supervisor_pid"]);
  CHECK(run_capture({"ping", "-c", "1", "-W", "5", ip}).exit_code == 0);
  CHECK(qemu_processes(home.path("home/vms/par/")) == 1);
  home.must({"vm", "rm", "--force", "par"});
  CHECK(qemu_processes(home.path("home")) == 0);
}

TEST_CASE("e2e state: vm stop returns only once the VM is stopped - a vm start right after boots it again",
          "[e2e][vm][tap][state]") {
  SandboxHome home;
  // Tap: releasing the network after QEMU exits takes long enough that a stop
  // which returned early was caught most times.
  home.must({"vm", "create", "--name", "cycle", "--net", "tap"});
  home.must({"vm", "start", "cycle"});
  {
    // Another banger process in a write transaction (a publish, a create):
    // the supervisor cannot record the stop yet, so neither may `vm stop`
    // say it is done. (It used to, as soon as QEMU was gone.)
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(home.path("home/index.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    Process stop = start_banger(home, {"vm", "stop", "cycle"}, home.path("stop.out"));
    CHECK_FALSE(stop.wait_for(std::chrono::seconds(8)));
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    CHECK(stop.wait() == 0);
    CHECK(fs::read_file(home.path("stop.out")) == "stopped VM 'cycle'\n");
    CHECK(vm_record(home, "cycle")["state"] == "stopped");
    CHECK(home.must({"vm", "start", "cycle"}).out.rfind("started VM 'cycle' (", 0) == 0);
  }
  for (int i = 0; i < 3; i++) {
    INFO("round " << i);
    CHECK(home.must({"vm", "stop", "cycle"}).out == "stopped VM 'cycle'\n");
    // What stop said is already true: no supervisor, no VMM, record stopped.
    Json rec = vm_record(home, "cycle");
    CHECK(rec["state"] == "stopped");
    CHECK(rec["supervisor_pid"].is_null());
    CHECK(qemu_processes(home.path("home/vms/cycle/")) == 0);
    CHECK(home.must({"vm", "start", "cycle"}).out.rfind("started VM 'cycle' (", 0) == 0);
    CHECK(vm_record(home, "cycle")["state"] == "running");
  }
  home.must({"vm", "rm", "--force", "cycle"});
}

TEST_CASE(
    "e2e state: the client of vm run killed with SIGKILL - the supervisor stops the VM, and removes it with "
    "--rm",
    "[e2e][vm][state]") {
  SandboxHome home;
  for (bool rm : {true, false}) {
    std::string name = rm ? "orphan-rm" : "orphan-kept";
    INFO(name);
    std::vector<std::string> args = {"vm", "run", "--name", name, "--net", "user"};
    if (rm) args.push_back("--rm");
    for (const char* a : {"--", "sleep", "1000"}) args.push_back(a);
    Process client = start_banger(home, args, home.path(name + ".out"));
    // Killed once its command runs in the guest.
    REQUIRE(eventually(180, [&] {
      auto r =
          run_banger({"vm", "exec", name, "--", "sh", "-c", "grep -lx sleep /proc/[0-9]*/comm"}, home.env());
      return r.code == 0;
    }));
    client.signal(SIGKILL);
    CHECK(client.wait() == 128 + SIGKILL);
    if (rm) {
      CHECK(eventually(60, [&] { return vm_record(home, name).is_null(); }));
      CHECK_FALSE(fs::exists(home.path("home/vms/" + name)));
    } else {
      CHECK(eventually(60, [&] {
        Json r = vm_record(home, name);
        return !r.is_null() && r["state"] == "stopped";
      }));
    }
    CHECK(qemu_processes(home.path("home/vms/" + name + "/")) == 0);
  }
  home.must({"vm", "rm", "orphan-kept"});
}

TEST_CASE("e2e state: two banger installations run tap VMs at once - each gets its own subnet and bridge",
          "[e2e][vm][tap][state]") {
  // Neither forces a network (empty is unset): the automatic choice is under test.
  std::map<std::string, std::string> automatic = {{"BANGER_SUBNET", ""}, {"BANGER_BRIDGE", ""}};
  SandboxHome a("", automatic), b("", automatic);
  // The same address index in both: the collision of a shared default subnet.
  a.must({"vm", "create", "--name", "one", "--net", "tap"});
  b.must({"vm", "create", "--name", "two", "--net", "tap"});
  a.must({"vm", "start", "one"});
  b.must({"vm", "start", "two"});
  Json one = vm_record(a, "one"), two = vm_record(b, "two");
  REQUIRE(one["state"] == "running");
  REQUIRE(two["state"] == "running");
  Json net_a = Json::parse(fs::read_file(a.path("home/net.json")));
  Json net_b = Json::parse(fs::read_file(b.path("home/net.json")));
  CHECK(net_a["slot"] != net_b["slot"]);
  CHECK(net_a["bridge"] != net_b["bridge"]);
  std::string ip_a = one["ip"], ip_b = two["ip"];
  CHECK(ip_a.rfind("10.77." + std::to_string(net_a["slot"].get<int>()) + ".", 0) == 0);
  CHECK(ip_b.rfind("10.77." + std::to_string(net_b["slot"].get<int>()) + ".", 0) == 0);
  CHECK(run_capture({"ping", "-c", "1", "-W", "5", ip_a}).exit_code == 0);
  CHECK(run_capture({"ping", "-c", "1", "-W", "5", ip_b}).exit_code == 0);
  CHECK(a.must({"vm", "exec", "one", "--", "hostname"}).out == "one\n");
  CHECK(b.must({"vm", "exec", "two", "--", "hostname"}).out == "two\n");
  a.must({"vm", "rm", "--force", "one"});
  // The other installation's VM is untouched by the first one's teardown.
  CHECK(run_capture({"ping", "-c", "1", "-W", "5", ip_b}).exit_code == 0);
  b.must({"vm", "rm", "--force", "two"});
  CHECK(run_capture({"ip", "link", "show", net_a["bridge"].get<std::string>()}).exit_code != 0);
  CHECK(run_capture({"ip", "link", "show", net_b["bridge"].get<std::string>()}).exit_code != 0);
}
