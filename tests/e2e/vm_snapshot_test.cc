// End to end under TCG: pause and resume, snapshots, forks and restores of
// real VMs driven through their QMP sockets.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/sandbox_home.h"

using namespace banger;
using namespace banger::test;
using Json = nlohmann::json;

namespace {

std::string guest(const SandboxHome& home, const std::string& vm, const std::string& script) {
  return home.must({"vm", "exec", vm, "--", "sh", "-c", script}).out;
}

long counter(const SandboxHome& home, const std::string& vm) {
  return std::stol(guest(home, vm, "cat /tmp/c"));
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double since_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The pid of the QEMU whose command line has `needle`, or -1.
pid_t qemu_pid_with(const std::string& needle) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (cmd.rfind("qemu-system", 0) == 0 && cmd.find(needle) != std::string::npos) return std::stoi(pid);
  }
  return -1;
}

std::set<std::string> dir_names(const std::string& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.insert(e.path().filename());
  return out;
}

}  // namespace

TEST_CASE(
    "e2e snapshot: pause stops a counter in the guest and resume continues it - a paused VM whose supervisor "
    "dies is reported and never lost silently",
    "[e2e][vm][snapshot]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "pz", "--net", "none"});
  home.must({"vm", "start", "pz"});
  guest(home, "pz",
        "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/c; sleep 0.1; "
        "done' </dev/null >/dev/null 2>&1 &");
  for (int i = 0; i < 100 && guest(home, "pz", "cat /tmp/c 2>/dev/null || true").empty(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(counter(home, "pz") > 0);

  long before = counter(home, "pz");
  auto t0 = std::chrono::steady_clock::now();
  CHECK(home.must({"vm", "pause", "pz"}).out == "paused VM 'pz'\n");
  double pause_ms = since_ms(t0);
  CHECK(vm_record(home, "pz")["state"] == "paused");
  CHECK(home.must({"vm", "pause", "pz"}).out == "VM 'pz' is already paused\n");
  auto r = run_banger({"vm", "exec", "pz", "--", "true"}, home.env());
  CHECK(r.code != 0);
  CHECK(r.err == "error: VM 'pz' is paused\n  hint: resume it with 'banger vm resume pz'\n");
  r = run_banger({"vm", "start", "pz"}, home.env());
  CHECK(r.err == "error: VM 'pz' is paused\n  hint: resume it with 'banger vm resume pz'\n");
  // Paused for 2 s: 20 ticks if the guest ran on.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  t0 = std::chrono::steady_clock::now();
  CHECK(home.must({"vm", "resume", "pz"}).out == "resumed VM 'pz'\n");
  double resume_ms = since_ms(t0);
  long after = counter(home, "pz");
  INFO("counter before pause " << before << ", after resume " << after);
  CHECK(after - before < 10);
  CHECK(vm_record(home, "pz")["state"] == "running");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(counter(home, "pz") > after);
  // The round trip as QEMU sees it (the CLI's own start-up is on top).
  Json p = Json::parse(home.must({"--json", "vm", "pause", "pz"}).out);
  Json q = Json::parse(home.must({"--json", "vm", "resume", "pz"}).out);
  std::printf("pause/resume: CLI %.0f ms + %.0f ms; QMP stop %.1f ms, cont %.1f ms\n", pause_ms, resume_ms,
              p["ms"].get<double>(), q["ms"].get<double>());

  // Its supervisor killed while paused: the VM cannot come back (the
  // supervisor held its channels); the next command says so and frees it.
  home.must({"vm", "pause", "pz"});
  Json rec = vm_record(home, "pz");
  REQUIRE(::kill(rec["supervisor_pid"].get<pid_t>(), SIGKILL) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto ls = run_banger({"vm", "ls"}, home.env());
  CHECK(ls.code == 0);
  CHECK(ls.err.find("VM 'pz' was paused when its supervisor died: its memory is lost, its disk is kept; "
                    "'banger vm start pz' boots it again") != std::string::npos);
  CHECK(ls.out.find("\npz ") != std::string::npos);
  CHECK(ls.out.find(" stopped (pause lost) ") != std::string::npos);
  CHECK(vm_record(home, "pz")["lost_pause"] == true);
  CHECK(qemu_processes(home.path("home/vms/pz/")) == 0);
  CHECK_FALSE(fs::exists(home.path("home/vms/pz/memory")));
  home.must({"vm", "rm", "pz"});
}

TEST_CASE(
    "e2e snapshot: forks of a running VM share what it wrote before and not what each writes - each has its "
    "own "
    "hostname and address and MAC and clock and randomness - a foreign or killed restore leaves nothing",
    "[e2e][vm][tap][snapshot]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "src", "--net", "tap"});
  home.must({"vm", "start", "src"});
  guest(home, "src", "echo before > /root/before && sync");

  auto snap = home.must({"--json", "vm", "snapshot", "src", "--name", "base"});
  Json s = Json::parse(snap.out);
  std::printf(
      "snapshot of a running 1 GiB VM: paused %.1f ms (migrate %.1f, memory copy %.1f, disk %.1f); "
      "state %llu bytes, memory %llu bytes\n",
      s["paused_ms"].get<double>(), s["migrate_ms"].get<double>(), s["memory_ms"].get<double>(),
      s["disk_ms"].get<double>(), s["state_bytes"].get<unsigned long long>(),
      s["memory_bytes"].get<unsigned long long>());
  CHECK(s["memory_file"] == true);
  CHECK(vm_record(home, "src")["state"] == "running");
  // The VM runs on, on a new disk above the frozen one.
  guest(home, "src", "echo after > /root/after && sync");
  for (const char* f : {"state", "memory", "disk.qcow2", "meta.json"})
    CHECK(fs::exists(home.path(std::string("home/snapshots/base/") + f)));
  CHECK(home.must({"snapshot", "ls"}).out.find("\nbase ") != std::string::npos);

  auto t0 = std::chrono::steady_clock::now();
  Json fork = Json::parse(home.must({"--json", "vm", "fork", "src", "--count", "2"}).out);
  std::printf("vm fork --count 2: %.0f ms\n", since_ms(t0));
  REQUIRE(fork["vms"].size() == 2);
  std::vector<std::string> forks = {fork["vms"][0], fork["vms"][1]};
  std::set<std::string> hostnames, ips, macs, randoms;
  for (const auto& f : forks) {
    INFO(f);
    Json rec = vm_record(home, f);
    CHECK(rec["state"] == "running");
    CHECK(fs::read_file(home.path("home/vms/" + f + "/supervisor.log")).find("restored from snapshot") !=
          std::string::npos);
    CHECK(guest(home, f, "cat /root/before") == "before\n");
    // A fork is of the VM as it is now (its own snapshot), /root/after included.
    CHECK(guest(home, f, "cat /root/after") == "after\n");
    guest(home, f, "echo " + f + " > /root/mine");
    hostnames.insert(guest(home, f, "hostname"));
    CHECK(guest(home, f, "hostname") == f + "\n");
    macs.insert(guest(home, f, "cat /sys/class/net/*/address | grep -v 00:00:00:00:00:00"));
    randoms.insert(guest(home, f, "head -c 16 /dev/urandom | od -An -tx1"));
    double lo = now_s();
    double t = std::stod(guest(home, f, "date +%s.%N"));
    double hi = now_s();
    CHECK(t > lo - 1.0);
    CHECK(t < hi + 1.0);
    std::string ip = rec["ip"];
    ips.insert(ip);
    CHECK(run_capture({"ping", "-c", "1", "-W", "5", ip}).exit_code == 0);
  }
  CHECK(hostnames.size() == 2);
  CHECK(ips.size() == 2);
  CHECK(macs.size() == 2);
  CHECK(randoms.size() == 2);
  CHECK(guest(home, forks[0], "cat /root/mine") == forks[0] + "\n");
  CHECK(guest(home, forks[1], "cat /root/mine") == forks[1] + "\n");
  CHECK(guest(home, "src", "test -e /root/mine && echo leaked || echo absent") == "absent\n");

  std::string fork_snap = fork["snapshot"];
  auto rm = run_banger({"snapshot", "rm", fork_snap}, home.env());
  CHECK(rm.code != 0);
  CHECK(rm.err.find("error: snapshot '" + fork_snap + "' is the base of VM ") == 0);

  std::set<std::string> vms_before = dir_names(home.path("home/vms"));
  // A snapshot from another QEMU is refused, naming both versions.
  set_snapshot_field(home, "base", "qemu_version", "6.2.0 (elsewhere)");
  auto bad = run_banger({"vm", "run", "--from", "base", "--", "true"}, home.env());
  CHECK(bad.code != 0);
  CHECK(bad.err.find("snapshot 'base' was saved by QEMU 6.2.0 (elsewhere), this is QEMU 7.2") !=
        std::string::npos);
  CHECK(bad.err.find(": QEMU cannot restore another version's state") != std::string::npos);
  std::string version = s["qemu_version"];
  set_snapshot_field(home, "base", "qemu_version", version);
  // ... and one from another command line.
  std::string digest = s["shape_digest"];
  set_snapshot_field(home, "base", "shape_digest", "sha256:00");
  bad = run_banger({"vm", "run", "--from", "base", "--", "true"}, home.env());
  CHECK(bad.code != 0);
  CHECK(bad.err.find("snapshot 'base' was saved with another VM command line (kernel, initrd, cpus, memory, "
                     "network mode, accelerator or devices differ): it cannot be restored here") !=
        std::string::npos);
  set_snapshot_field(home, "base", "shape_digest", digest);

  // The VMM killed while it loads the state: the state comes through a FIFO
  // that stalls after its first bytes.
  std::string state = home.path("home/snapshots/base/state");
  REQUIRE(::rename(state.c_str(), (state + ".real").c_str()) == 0);
  REQUIRE(::mkfifo(state.c_str(), 0600) == 0);
  std::atomic<bool> done{false};
  std::thread feeder([&] {
    FILE* out = std::fopen(state.c_str(), "w");
    if (!out) return;
    std::string head = fs::read_file(state + ".real").substr(0, 4096);
    std::fwrite(head.data(), 1, head.size(), out);
    std::fflush(out);
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::fclose(out);
  });
  Process run = start_banger(home, {"vm", "run", "--from", "base", "--", "true"}, home.path("killed.out"));
  pid_t vmm = -1;
  for (int i = 0; i < 600 && vmm < 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    vmm = qemu_pid_with("snapshots/base/memory");
  }
  if (vmm < 0) {
    // Unblock the feeder (its open waits for a reader) before failing.
    int unblock = ::open(state.c_str(), O_RDONLY | O_NONBLOCK);
    done = true;
    feeder.join();
    ::close(unblock);
    FAIL("no QEMU restoring snapshot 'base' appeared: " << fs::read_file(home.path("killed.out")));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(vmm, SIGKILL);
  CHECK(run.wait() != 0);
  done = true;
  feeder.join();
  ::unlink(state.c_str());
  REQUIRE(::rename((state + ".real").c_str(), state.c_str()) == 0);
  std::string out = fs::read_file(home.path("killed.out"));
  INFO(out);
  CHECK(out.find("error: VM ") != std::string::npos);
  CHECK(qemu_pid_with("snapshots/base/memory") < 0);
  CHECK(dir_names(home.path("home/vms")) == vms_before);
  CHECK(dir_names(home.path("home/tmp")).empty());
  CHECK(Json::parse(home.must({"vm", "ls", "--json"}).out).size() == 3);

  // And a restore that works after all that.
  // Snapshot 'base' is the VM as it was: what it wrote after is not in it.
  auto ok = home.must({"vm", "run", "--from", "base", "--rm", "--", "sh", "-c",
                       "cat /root/before; test -e /root/after || echo absent"});
  CHECK(ok.out == "before\nabsent\n");
  home.must({"vm", "rm", "--force", forks[0], forks[1], "src"});
  home.must({"snapshot", "rm", fork_snap, "base"});
  CHECK(dir_names(home.path("home/snapshots")).empty());
  CHECK(qemu_processes(home.path("home/")) == 0);
}
