// End to end: banger's state directory after crashes and damage. A pull
// killed with SIGKILL, an index truncated to zero or overwritten with
// garbage, a directory the index does not know: each found, explained, and
// repaired by `banger doctor --repair`, with the real build/banger.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/cli.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

using namespace banger;
using namespace banger::test;
using Json = nlohmann::json;

namespace {

CliOptions home_env(const TempDir& t) { return banger::test::home_env(t.path()); }

// A one-file image as an OCI layout (pulls in well under a second).
std::string tiny_layout(const TempDir& t) {
  std::string layout = t / "tiny-layout";
  fs::make_dirs(t / "rootfs/etc");
  fs::write_file(t / "rootfs/etc/hello", "hi\n");
  run_checked({"tar", "-C", t / "rootfs", "-cf", t / "layer.tar", "."}, "tar");
  umoci_image(layout, "v1", {t / "layer.tar"});
  return layout;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  return out;
}

// The check `name` of `banger doctor --json`'s report (null when absent).
Json check_named(const Json& report, const std::string& name) {
  for (const auto& c : report["checks"])
    if (c["name"] == name) return c;
  return nullptr;
}

// The last `n` characters of `s` (errors come after progress lines).
std::string tail(const std::string& s, size_t n) { return s.substr(s.size() - std::min(s.size(), n)); }

}  // namespace

TEST_CASE(
    "e2e state: a pull killed with SIGKILL leaves staging - doctor reports it, the next pull reclaims it",
    "[e2e][state]") {
  TempDir t;
  std::string layout = t / "layout";
  umoci_image(layout, "v1", {debian_rootfs_tar()});
  SpawnOptions o;
  o.argv = {"env",  "BANGER_HOME=" + (t / "home"), banger_binary(), "image",
            "pull", "oci:" + layout + ":v1",       "--name",        "killed"};
  o.stdout_fd = o.stderr_fd = ::open("/dev/null", O_WRONLY);
  Process p = Process::spawn(o);
  ::close(o.stdout_fd);
  // kill -9 once the root disk is being written in its staging dir.
  std::string staging;
  for (int i = 0; i < 3000 && staging.empty(); i++) {
    for (const auto& e : entries(t / "home/tmp"))
      if (e.rfind(".pull-killed-", 0) == 0 && fs::exists(t / ("home/tmp/" + e + "/rootfs.ext4")))
        staging = t / ("home/tmp/" + e);
    if (staging.empty()) ::usleep(5000);
  }
  REQUIRE_FALSE(staging.empty());
  p.signal(SIGKILL);
  CHECK(p.wait() == 128 + SIGKILL);
  REQUIRE(fs::exists(staging + "/rootfs.ext4"));

  // Past the grace a new owner gets to take its lock.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  auto doctor = run_banger({"doctor", "--json"}, home_env(t));
  Json left = check_named(Json::parse(doctor.out), "leftovers");
  REQUIRE_FALSE(left.is_null());
  CHECK(left["status"] == "warn");
  std::string detail = left["detail"];
  CHECK(detail.rfind("1 staging dir of killed pulls or imports (", 0) == 0);
  CHECK(detail.find(" MB) in " + (t / "home/tmp")) != std::string::npos);
  CHECK(left["fix"] ==
        "banger doctor --repair removes them (pulling the same image again would resume a partial download)");

  // A live pull's staging is never taken: this one runs while the dead one goes.
  auto next = run_banger({"image", "pull", "oci:" + tiny_layout(t) + ":v1", "--name", "next"}, home_env(t));
  CHECK(next.code == 0);
  CHECK_FALSE(fs::exists(staging));
  CHECK(entries(t / "home/tmp").empty());
  doctor = run_banger({"doctor", "--json"}, home_env(t));
  CHECK(check_named(Json::parse(doctor.out), "leftovers")["status"] == "ok");
}

TEST_CASE(
    "e2e state: an index truncated to zero is refused - doctor --repair rebuilds images, kernels and VMs",
    "[e2e][vm][state]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "keep", "--net", "user"});
  long address = Json::parse(home.must({"vm", "ls", "--json"}).out)[0]["address"];
  std::string db = home.path("home/index.db");
  // What a crash or a full disk can leave: an empty file.
  ::truncate(db.c_str(), 0);
  for (const char* ext : {"-wal", "-shm"}) ::unlink((db + ext).c_str());

  auto ls = run_banger({"image", "ls"}, home.env());
  CHECK(ls.code == 7);
  CHECK(ls.err == "error: the state index " + db +
                      " is empty but the state directories hold 1 image, 1 kernel and 1 VM\n"
                      "  hint: 'banger doctor --repair' rebuilds the index from the state directories "
                      "(images/, kernels/, vms/)\n");
  // A pull of a name that exists on disk cannot overwrite it meanwhile.
  CHECK(run_banger({"image", "pull", "oci:" + debian_oci_layout() + ":gzip", "--name", "debian-bookworm"},
                   home.env())
            .code == 7);

  auto doctor = run_banger({"doctor", "--json"}, home.env());
  Json idx = check_named(Json::parse(doctor.out), "state index");
  REQUIRE_FALSE(idx.is_null());
  CHECK(idx["status"] == "fail");
  CHECK(idx["detail"] == db + " is empty but the state directories hold 1 image, 1 kernel and 1 VM");

  auto repair = run_banger({"doctor", "--repair"}, home.env());
  CHECK(repair.out.rfind("repaired:\n"
                         "  recorded image 'debian-bookworm' from " +
                             home.path("home/images/debian-bookworm") +
                             "\n"
                             "  recorded kernel 'debian-cloud' from " +
                             home.path("home/kernels/debian-cloud") +
                             "\n"
                             "  recorded vm 'keep' from " +
                             home.path("home/vms/keep") + "\n",
                         0) == 0);
  Json vms = Json::parse(home.must({"vm", "ls", "--json"}).out);
  REQUIRE(vms.size() == 1);
  CHECK(vms[0]["state"] == "stopped");
  CHECK(vms[0]["address"] == address);
  CHECK(Json::parse(home.must({"image", "ls", "--json"}).out).size() == 1);
  CHECK(check_named(Json::parse(run_banger({"doctor", "--json"}, home.env()).out), "state index")["status"] ==
        "ok");
  // The rebuilt records are the real ones: the VM boots from them.
  home.must({"vm", "start", "keep"});
  CHECK(home.must({"vm", "exec", "keep", "--", "hostname"}).out == "keep\n");
  home.must({"vm", "rm", "--force", "keep"});
}

TEST_CASE(
    "e2e state: a corrupt index names the file and the repair - doctor --repair keeps it aside and rebuilds",
    "[e2e][state]") {
  TempDir t;
  std::string layout = tiny_layout(t);
  REQUIRE(run_banger({"image", "pull", "oci:" + layout + ":v1", "--name", "tiny"}, home_env(t)).code == 0);
  std::string db = t / "home/index.db";
  // Garbage over the header and the first pages, as a bad disk or a stray write leaves it.
  int fd = ::open(db.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  std::string junk(8192, '\xa5');
  CHECK(::pwrite(fd, junk.data(), junk.size(), 0) == static_cast<ssize_t>(junk.size()));
  ::close(fd);
  for (const char* ext : {"-wal", "-shm"}) ::unlink((db + ext).c_str());

  auto ls = run_banger({"image", "ls"}, home_env(t));
  CHECK(ls.code == 7);
  CHECK(ls.err == "error: the state index " + db +
                      " is damaged (file is not a database)\n"
                      "  hint: 'banger doctor --repair' rebuilds the index from the state directories "
                      "(images/, kernels/, vms/)\n");
  auto repair = run_banger({"doctor", "--repair"}, home_env(t));
  CHECK(repair.out.rfind("repaired:\n  moved the damaged index to " + db + ".damaged-", 0) == 0);
  CHECK(repair.out.find("  recorded image 'tiny' from " + (t / "home/images/tiny") + "\n") !=
        std::string::npos);
  auto files = run_banger({"image", "ls-files", "tiny", "/etc"}, home_env(t));
  CHECK(files.out == "hello\n");
  bool kept_aside = false;
  for (const auto& e : entries(t / "home"))
    if (e.rfind("index.db.damaged-", 0) == 0) kept_aside = true;
  CHECK(kept_aside);
}

TEST_CASE("e2e state: an image directory the index does not know is reported and never overwritten by a pull",
          "[e2e][state]") {
  TempDir t;
  std::string layout = tiny_layout(t);
  REQUIRE(run_banger({"image", "pull", "oci:" + layout + ":v1", "--name", "tiny"}, home_env(t)).code == 0);
  // index.db is 0600 from its creation (it lists every image and VM).
  struct stat st {};
  REQUIRE(::stat((t / "home/index.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // An orphan: the image is on disk, its record gone (an index from a backup, say).
  fs::make_dirs(t / "other");
  std::filesystem::rename(t / "home/images/tiny", t / "other/tiny");
  REQUIRE(run_banger({"image", "rm", "tiny"}, home_env(t)).code == 0);
  std::filesystem::rename(t / "other/tiny", t / "home/images/tiny");

  auto again = run_banger({"image", "pull", "oci:" + layout + ":v1", "--name", "tiny"}, home_env(t));
  CHECK(again.code == 4);
  std::string expected =
      "error: image 'tiny': " + (t / "home/images/tiny") +
      " exists but the index has no record of it\n"
      "  hint: 'banger doctor --repair' adds it back to the index; or remove that directory\n";
  CHECK(tail(again.err, expected.size()) == expected);
  CHECK(fs::read_file(t / "home/images/tiny/record.json").find("\"name\": \"tiny\"") != std::string::npos);

  auto doctor = run_banger({"doctor", "--json"}, home_env(t));
  Json idx = check_named(Json::parse(doctor.out), "state index");
  REQUIRE_FALSE(idx.is_null());
  CHECK(idx["status"] == "warn");
  CHECK(idx["detail"] == "not in the index: " + (t / "home/images/tiny"));
  REQUIRE(run_banger({"doctor", "--repair"}, home_env(t)).code == 0);
  CHECK(run_banger({"image", "ls-files", "tiny", "/etc"}, home_env(t)).out == "hello\n");
  CHECK(entries(t / "home/tmp").empty());
}
