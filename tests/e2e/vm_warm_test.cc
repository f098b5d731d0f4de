// End to end under TCG: warm starts. A VM's first boot leaves a warm
// snapshot; the next VM of the same shape restores it instead of booting.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "host/core/fs.h"
#include "tests/support/sandbox_home.h"

using namespace banger;
using namespace banger::test;
using Json = nlohmann::json;

namespace {

// What each VM runs: its stdout is the same in every VM of the shape (and
// says whether a file the command itself writes was there before it); its
// hostname goes to stderr.
const std::vector<std::string> kCommand = {
    "sh", "-c",
    "test -e /root/mine && echo leaked; echo mine > /root/mine; uname -r; cat /etc/os-release; echo "
    "host=$(hostname) >&2"};

std::vector<std::string> run_args(const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"vm", "run", "--net", "none", "--name", name};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--");
  args.insert(args.end(), kCommand.begin(), kCommand.end());
  return args;
}

// The warm snapshots in `home`: name -> record.
std::map<std::string, Json> warm_snapshots(const SandboxHome& home) {
  std::map<std::string, Json> out;
  for (const auto& s : Json::parse(home.must({"--json", "snapshot", "ls"}).out))
    if (s.contains("warm_key")) out[s["name"]] = s;
  return out;
}

std::string from_snapshot(const SandboxHome& home, const std::string& vm) {
  Json rec = vm_record(home, vm);
  return rec.contains("from_snapshot") && rec["from_snapshot"].is_string()
             ? rec["from_snapshot"].get<std::string>()
             : "";
}

std::string supervisor_log(const SandboxHome& home, const std::string& vm) {
  return home.must({"vm", "logs", "--supervisor", vm}).out;
}

}  // namespace

TEST_CASE(
    "e2e warm start: the second vm run of a shape restores the first one's warm snapshot with the same "
    "results - --cold boots - a stale or foreign warm snapshot is evicted and the VM boots - image rm and "
    "snapshot prune evict them",
    "[e2e][vm][snapshot]") {
  SandboxHome home("", {{"BANGER_WARM", "1"}});
  auto cold = home.must(run_args("w1"));
  CHECK(cold.out.find("leaked") == std::string::npos);
  CHECK(from_snapshot(home, "w1").empty());
  auto warm = warm_snapshots(home);
  REQUIRE(warm.size() == 1);
  const std::string snap = warm.begin()->first;
  CHECK(snap.rfind("warm-", 0) == 0);
  CHECK(warm[snap]["vm"] == "w1");

  // The next VM like it is a restore, and sees what a booted one sees.
  auto w2 = home.must(run_args("w2"));
  CHECK(w2.out == cold.out);
  CHECK(from_snapshot(home, "w2") == snap);
  CHECK(w2.err.find("host=w2\n") != std::string::npos);
  CHECK(supervisor_log(home, "w2").find("restored from snapshot '" + snap + "'") != std::string::npos);

  // --cold boots and saves nothing new; another shape is not this one's.
  home.must(run_args("w3", {"--cold"}));
  CHECK(from_snapshot(home, "w3").empty());
  home.must(run_args("w4", {"--cpus", "1"}));
  CHECK(from_snapshot(home, "w4").empty());
  CHECK(warm_snapshots(home).size() == 2);
  auto both = run_banger({"vm", "run", "--cold", "--from", snap, "--", "true"}, home.env());
  CHECK(both.code == 2);
  const std::string both_err = "error: --cold boots the VM: it cannot also restore --from " + snap +
                               "\n  hint: leave out one of them\n";
  CHECK(both.err.substr(both.err.size() - std::min(both.err.size(), both_err.size())) == both_err);

  // Prune keeps what a VM's disk sits on, and removes the rest.
  auto pruned = home.must({"snapshot", "prune"});
  CHECK(pruned.out.find("kept warm snapshot '" + snap + "': VM w2 still uses it") != std::string::npos);
  CHECK(warm_snapshots(home).size() == 1);
  home.must({"vm", "rm", "w2", "w3", "w4"});

  // A key that no longer matches (the image pulled again, banger upgraded):
  // evicted, the VM boots, and leaves a new one.
  set_snapshot_field(home, snap, "warm_key", "sha256:00");
  home.must(run_args("w5"));
  CHECK(from_snapshot(home, "w5").empty());
  REQUIRE(warm_snapshots(home).count(snap) == 1);
  CHECK(warm_snapshots(home)[snap]["vm"] == "w5");

  // One this QEMU cannot restore: the VM boots instead, and says so.
  set_snapshot_field(home, snap, "qemu_version", "6.2.0 (elsewhere)");
  auto fallback = run_banger(run_args("w6"), home.env());
  CHECK(fallback.code == 0);
  CHECK(fallback.out == cold.out);
  CHECK(fallback.err.find("VM 'w6': warm snapshot '" + snap + "' did not restore (") != std::string::npos);
  CHECK(fallback.err.find("was saved by QEMU 6.2.0 (elsewhere)") != std::string::npos);
  CHECK(from_snapshot(home, "w6").empty());
  REQUIRE(warm_snapshots(home).count(snap) == 1);
  CHECK(warm_snapshots(home)[snap]["vm"] == "w6");

  // image rm takes its warm snapshots with it.
  home.must({"vm", "rm", "w1", "w5", "w6"});
  home.must({"image", "rm", "debian-bookworm"});
  CHECK(warm_snapshots(home).empty());
  CHECK_FALSE(fs::exists(home.path("home/snapshots/" + snap)));
}
