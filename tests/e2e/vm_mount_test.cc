// End to end under TCG: --mount shares a host directory live over virtiofs.
// Host writes show in the guest and guest writes on the host; a :ro mount
// refuses the guest's writes (EROFS) and leaves the host directory as it
// was; the guest's root writes as the directory's owner, never as root;
// each mount's virtiofsd lives and dies with the VM's supervisor.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/core/fs.h"
#include "tests/support/eventually.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/skip.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

// The pids of the virtiofsd processes serving `host` (their command line
// says source=HOST): this test's own, whatever else runs on the machine.
std::vector<pid_t> virtiofsd_serving(const std::string& host) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::string cmdline;
    try {
      cmdline = fs::read_file("/proc/" + std::string(e->d_name) + "/cmdline");
    } catch (...) {
      continue;
    }
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find("virtiofsd") != std::string::npos &&
        (cmdline + " ").find("source=" + host + " ") != std::string::npos)
      out.push_back(pid);
  }
  closedir(d);
  return out;
}

CliResult run(const SandboxHome& home, const std::vector<std::string>& args) {
  return run_banger(args, home.env());
}

std::string canonical(const TempDir& d) { return std::filesystem::canonical(d.path()).string(); }

// A user's directory, as a project checkout is: the guest's root writes
// there as this user (a root-owned one is mounted read-only only).
constexpr uid_t kOwner = 1000;
void give_to_owner(const std::string& dir) { REQUIRE(::chown(dir.c_str(), kOwner, kOwner) == 0); }

}  // namespace

TEST_CASE("e2e mount: host writes show in the guest, guest writes on the host, :ro refuses writes",
          "[e2e][vm][mount]") {
  if (geteuid() != 0) BANGER_SKIP("--mount needs root (virtiofsd runs as root); run the suite as root");
  SandboxHome home;
  TempDir rw_dir, ro_dir;
  const std::string rw = canonical(rw_dir), ro = canonical(ro_dir);
  fs::write_file(rw + "/host.txt", "from the host\n");
  fs::write_file(ro + "/keep.txt", "keep\n");

  // A root-owned directory read-write: the guest's root would write there as
  // root. Refused before anything starts.
  home.must({"vm", "create", "--name", "mroot", "--net", "none", "--mount", ro + ":/mnt/rw"});
  auto refused = run(home, {"vm", "start", "mroot"});
  CHECK(refused.code == 8);
  CHECK(refused.err.find(
            "error: --mount " + ro + ":/mnt/rw: " + ro +
            " is owned by root, and the guest's writes there would be root's\n  hint: chown it to a "
            "user (the guest then writes as that user), or mount it read-only (" +
            ro + ":/mnt/rw:ro)\n") != std::string::npos);
  CHECK(virtiofsd_serving(ro).empty());
  home.must({"vm", "rm", "mroot"});
  give_to_owner(rw);

  home.must({"vm", "create", "--name", "mnt", "--net", "none", "--mount", rw + ":/mnt/rw", "--mount",
             ro + ":/mnt/ro:ro"});
  home.must({"vm", "start", "mnt"});
  auto rec = vm_record(home, "mnt");
  REQUIRE(rec["virtiofsd_pids"].is_array());
  REQUIRE(rec["virtiofsd_pids"].size() == 2);
  std::vector<pid_t> pids;
  for (auto& p : rec["virtiofsd_pids"]) pids.push_back(p.get<pid_t>());
  // virtiofsd forks its sandboxed server (a new PID namespace) and waits
  // for it: the recorded pid is that parent.
  auto has = [](const std::vector<pid_t>& v, pid_t p) { return std::find(v.begin(), v.end(), p) != v.end(); };
  CHECK(has(virtiofsd_serving(rw), pids[0]));
  CHECK(has(virtiofsd_serving(ro), pids[1]));

  // Host -> guest: a file from before the boot, and one written after it.
  CHECK(home.must({"vm", "exec", "mnt", "--", "cat", "/mnt/rw/host.txt"}).out == "from the host\n");
  fs::write_file(rw + "/later.txt", "written while it runs\n");
  CHECK(home.must({"vm", "exec", "mnt", "--", "cat", "/mnt/rw/later.txt"}).out == "written while it runs\n");
  // Guest -> host.
  home.must({"vm", "exec", "mnt", "--", "sh", "-c",
             "mkdir /mnt/rw/out && echo from the guest > /mnt/rw/out/g.txt"});
  CHECK(fs::read_file(rw + "/out/g.txt") == "from the guest\n");
  // What the guest's root makes belongs to the directory's owner, setuid
  // bits included: never a root-owned setuid file on the host.
  home.must({"vm", "exec", "mnt", "--", "sh", "-c", "cp /bin/true /mnt/rw/suid && chmod 4755 /mnt/rw/suid"});
  struct stat st {};
  REQUIRE(::stat((rw + "/suid").c_str(), &st) == 0);
  CHECK(st.st_uid == kOwner);
  CHECK(::stat((rw + "/out/g.txt").c_str(), &st) == 0);
  CHECK(st.st_uid == kOwner);

  // Read-only: readable, and every write fails with EROFS; the host's
  // directory is as it was.
  CHECK(home.must({"vm", "exec", "mnt", "--", "cat", "/mnt/ro/keep.txt"}).out == "keep\n");
  auto write = run(home, {"vm", "exec", "mnt", "--", "sh", "-c", "echo x > /mnt/ro/new.txt"});
  CHECK(write.code != 0);
  CHECK(write.err.find("Read-only file system") != std::string::npos);
  auto rm = run(home, {"vm", "exec", "mnt", "--", "rm", "/mnt/ro/keep.txt"});
  CHECK(rm.code != 0);
  CHECK(rm.err.find("Read-only file system") != std::string::npos);
  auto mounts =
      home.must({"vm", "exec", "mnt", "--", "sh", "-c", "grep virtiofs /proc/mounts | cut -d' ' -f1-4"});
  CHECK(mounts.out ==
        "banger-mount-0 /mnt/rw virtiofs rw,nodev,relatime\nbanger-mount-1 /mnt/ro virtiofs "
        "ro,nodev,relatime\n");
  // The guest's root may remount it read-write: the host still refuses
  // (virtiofsd serves it from a read-only bind mount).
  auto remount = run(home, {"vm", "exec", "mnt", "--", "sh", "-c",
                            "mount -o remount,rw /mnt/ro && grep ' /mnt/ro ' /proc/mounts | cut -d' ' -f4 && "
                            "echo x > /mnt/ro/new.txt"});
  CHECK(remount.code != 0);
  CHECK(remount.out == "rw,nodev,relatime\n");
  CHECK(remount.err.find("Read-only file system") != std::string::npos);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(ro)) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"keep.txt"});
  CHECK(fs::read_file(ro + "/keep.txt") == "keep\n");

  // A live mount cannot be snapshotted (virtiofsd's state does not migrate).
  auto snap = run(home, {"vm", "snapshot", "mnt"});
  CHECK(snap.code != 0);
  CHECK(snap.err.find("error: VM 'mnt' has a live mount (/mnt/rw), which a snapshot cannot save\n") !=
        std::string::npos);

  // Gone with the VM.
  home.must({"vm", "rm", "--force", "mnt"});
  CHECK(eventually(10, [&] { return virtiofsd_serving(rw).empty() && virtiofsd_serving(ro).empty(); }));
  for (pid_t p : pids) CHECK(kill(p, 0) != 0);
}

TEST_CASE("e2e mount: the supervisor killed with SIGKILL takes its virtiofsd with it", "[e2e][vm][mount]") {
  if (geteuid() != 0) BANGER_SKIP("--mount needs root (virtiofsd runs as root); run the suite as root");
  SandboxHome home;
  TempDir dir;
  const std::string host = canonical(dir);
  give_to_owner(host);
  home.must({"vm", "create", "--name", "mk", "--net", "none", "--mount", host + ":/src"});
  home.must({"vm", "start", "mk"});
  auto rec = vm_record(home, "mk");
  REQUIRE(rec["supervisor_pid"].is_number());
  REQUIRE(!virtiofsd_serving(host).empty());
  kill(rec["supervisor_pid"].get<pid_t>(), SIGKILL);
  CHECK(eventually(10, [&] { return virtiofsd_serving(host).empty(); }));
  home.must({"vm", "rm", "--force", "mk"});
}
