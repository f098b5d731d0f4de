// End to end: the real build/banger pulls real images from Debian's real
// docker-registry on loopback. The produced root disk must equal, entry by
// entry, what umoci unpacks from the same image, and pass e2fsck -fn.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/ext4/editor.h"
#include "tests/support/cli.h"
#include "tests/support/ext4_dump.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

using namespace banger;
using namespace banger::test;

namespace {

CliOptions home_env(const TempDir& t) { return banger::test::home_env(t.path()); }

// umoci unpack of LAYOUT:TAG, its rootfs listing (as root: exact owners).
std::string umoci_listing(const TempDir& t, const std::string& layout, const std::string& tag) {
  std::string bundle = t / ("bundle-" + tag);
  run_checked({"umoci", "unpack", "--image", layout + ":" + tag, bundle}, "umoci unpack");
  return tree_listing(bundle + "/rootfs");
}

std::vector<std::string> staging_leftovers(const TempDir& t) {
  std::vector<std::string> out;
  std::string dir = t / "home/tmp";
  if (!fs::exists(dir)) return out;
  auto r = run_capture({"ls", "-A", dir});
  if (!r.out.empty()) out.push_back(r.out);
  return out;
}

}  // namespace

TEST_CASE("e2e image pull: a multi-layer Debian image (gzip and zstd) equals umoci unpack and passes e2fsck",
          "[e2e][image]") {
  std::string layout = debian_oci_layout();
  Registry reg;
  reg.push("oci:" + layout + ":gzip", "debian:gzip");
  reg.push("oci:" + layout + ":zstd", "debian:zstd", {"--dest-compress-format", "zstd"});
  TempDir t;
  std::string expected = umoci_listing(t, layout, "gzip");
  // The whiteout, the opaque dir and the added file of the top layer.
  CHECK(expected.find("/etc/motd ") == std::string::npos);
  CHECK(expected.find("/etc/banger-release file") != std::string::npos);

  for (const std::string tag : {"gzip", "zstd"}) {
    INFO("tag " << tag);
    auto pull = run_banger({"image", "pull", reg.host() + "/debian:" + tag}, home_env(t));
    REQUIRE(pull.code == 0);
    CHECK(pull.out == "pulled " + reg.host() + "/debian:" + tag + " as image 'debian-" + tag + "'\n");
    auto inspect = run_banger({"image", "inspect", "debian-" + tag, "--json"}, home_env(t));
    REQUIRE(inspect.code == 0);
    auto rec = nlohmann::json::parse(inspect.out);
    CHECK(rec["manifest_digest"].get<std::string>().rfind("sha256:", 0) == 0);
    CHECK(rec["ref"] == reg.host() + "/debian:" + tag);
    std::string rootfs = rec["rootfs"];
    auto fsck = e2fsck(rootfs);
    CHECK(fsck.exit_code == 0);
    INFO(fsck.output);
    // banger adds its agent under /.banger; everything else is the image.
    std::string listing = image_listing(rootfs);
    std::string without_agent;
    for (size_t pos = 0; pos < listing.size();) {
      size_t nl = listing.find('\n', pos);
      std::string line = listing.substr(pos, nl - pos + 1);
      if (line.rfind("/.banger", 0) != 0) without_agent += line;
      pos = nl == std::string::npos ? listing.size() : nl + 1;
    }
    CHECK(without_agent == expected);
    CHECK(listing.find("/.banger/agent file 0755 0:0") != std::string::npos);
  }
  CHECK(staging_leftovers(t).empty());

  auto ls = run_banger({"image", "ls", "--json"}, home_env(t));
  CHECK(nlohmann::json::parse(ls.out).size() == 2);
  auto cat = run_banger({"image", "cat", "debian-gzip", "/etc/os-release"}, home_env(t));
  CHECK(cat.out.find("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"") != std::string::npos);
}

TEST_CASE("e2e image pull: bad input names the ref, publishes nothing and leaves no staging dir",
          "[e2e][image]") {
  Registry reg;
  TempDir t;
  auto missing = run_banger({"image", "pull", reg.host() + "/nope:v1"}, home_env(t));
  CHECK(missing.code == 3);
  CHECK(missing.err.find("error: pulling " + reg.host() + "/nope:v1: manifest unknown\n") !=
        std::string::npos);

  auto malformed = run_banger({"image", "pull", "Not A Ref"}, home_env(t));
  CHECK(malformed.code == 2);
  CHECK(malformed.err.find("error: invalid image reference \"Not A Ref\"") != std::string::npos);

  auto refused = run_banger({"image", "pull", "127.0.0.1:1/a:b"}, home_env(t));
  CHECK(refused.code == 6);
  CHECK(refused.err.find("cannot connect to 127.0.0.1:1") != std::string::npos);

  auto bad_name = run_banger({"image", "pull", reg.host() + "/x:y", "--name", "Bad/Name"}, home_env(t));
  CHECK(bad_name.code == 2);
  CHECK(bad_name.err.find("error: invalid image name 'Bad/Name'\n") != std::string::npos);

  auto ls = run_banger({"image", "ls", "--json"}, home_env(t));
  CHECK(ls.out == "[]\n");
  CHECK(staging_leftovers(t).empty());
}

TEST_CASE("e2e image pull: a name in use is refused - rm frees it", "[e2e][image]") {
  TempDir t;
  std::string layout = t / "layout";
  fs::make_dirs(t / "rootfs/etc");
  fs::write_file(t / "rootfs/etc/hello", "hi\n");
  run_checked({"tar", "-C", t / "rootfs", "-cf", t / "layer.tar", "."}, "tar");
  umoci_image(layout, "v1", {t / "layer.tar"});
  auto first = run_banger({"image", "pull", "oci:" + layout + ":v1", "--name", "tiny"}, home_env(t));
  REQUIRE(first.code == 0);
  auto again = run_banger({"image", "pull", "oci:" + layout + ":v1", "--name", "tiny"}, home_env(t));
  CHECK(again.code == 4);
  // Progress lines come first on stderr; the error is the end of it.
  std::string expected_err =
      "error: image 'tiny' already exists\n"
      "  hint: choose another name with --name, or remove it with 'banger image rm tiny'\n";
  CHECK(again.err.substr(again.err.size() - std::min(again.err.size(), expected_err.size())) == expected_err);
  auto files = run_banger({"image", "ls-files", "tiny", "/etc"}, home_env(t));
  CHECK(files.out == "hello\n");
  CHECK(run_banger({"image", "rm", "tiny"}, home_env(t)).code == 0);
  CHECK(run_banger({"image", "pull", "oci:" + layout + ":v1", "--name", "tiny"}, home_env(t)).code == 0);
}

TEST_CASE("e2e image pull: racing pulls of one name have exactly one winner", "[e2e][image]") {
  TempDir t;
  std::string layout = t / "layout";
  fs::make_dirs(t / "rootfs");
  fs::write_file(t / "rootfs/f", std::string(1 << 20, 'x'));
  run_checked({"tar", "-C", t / "rootfs", "-cf", t / "layer.tar", "."}, "tar");
  umoci_image(layout, "v1", {t / "layer.tar"});
  // Four banger processes at once, all wanting the name "same".
  std::vector<Process> procs;
  for (int i = 0; i < 4; i++) {
    SpawnOptions o;
    o.argv = {"env",  "BANGER_HOME=" + (t / "home"), banger_binary(), "image",
              "pull", "oci:" + layout + ":v1",       "--name",        "same"};
    o.stdout_fd = ::open("/dev/null", O_WRONLY);
    o.stderr_fd = ::open((t / ("err" + std::to_string(i))).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    procs.push_back(Process::spawn(o));
  }
  int winners = 0, conflicts = 0;
  for (size_t i = 0; i < procs.size(); i++) {
    int code = procs[i].wait();
    if (code == 0) winners++;
    if (code == 4) conflicts++;
    if (code != 0 && code != 4)
      FAIL_CHECK("pull " << i << " exited " << code << ": "
                         << fs::read_file(t / ("err" + std::to_string(i))));
  }
  CHECK(winners == 1);
  CHECK(conflicts == 3);
  CHECK(staging_leftovers(t).empty());
}

TEST_CASE("e2e image pull: Ctrl-C stops a pull and leaves nothing half-published", "[e2e][image]") {
  TempDir t;
  std::string rootfs = debian_rootfs_tar();
  std::string layout = t / "layout";
  umoci_image(layout, "v1", {rootfs});
  SpawnOptions o;
  o.argv = {"env", "BANGER_HOME=" + (t / "home"), banger_binary(), "image", "pull", "oci:" + layout + ":v1"};
  o.pipe_stderr = true;
  Process p = Process::spawn(o);
  // Let it get into the pull/build, then interrupt it like a terminal would.
  ::usleep(700 * 1000);
  p.signal(SIGINT);
  int code = p.wait();
  CHECK((code == 130 || code == 0));  // a very fast machine may finish first
  if (code == 130) {
    auto ls = run_banger({"image", "ls", "--json"}, home_env(t));
    CHECK(ls.out == "[]\n");
  }
  CHECK(staging_leftovers(t).empty());
}

TEST_CASE(
    "e2e image pull: Ctrl-C at any moment of a two-layer pull (gzip, zstd) leaves nothing half-published",
    "[e2e][image]") {
  // The second layer inflates while the first is written: an interrupt in
  // any stage (pull, build with both layers' threads running, inject,
  // publish) unwinds both and publishes nothing, or the pull completes.
  std::string layout = debian_oci_layout();
  int interrupted = 0;
  for (const char* tag : {"gzip", "zstd"}) {
    for (int delay_ms : {150, 400, 650, 900, 1200}) {
      TempDir t;
      INFO(tag << ", Ctrl-C after " << delay_ms << " ms");
      SpawnOptions o;
      o.argv = {"env",  "BANGER_HOME=" + (t / "home"), banger_binary(), "image",
                "pull", "oci:" + layout + ":" + tag,   "--name",        "img"};
      o.pipe_stderr = true;
      Process p = Process::spawn(o);
      ::usleep(delay_ms * 1000);
      p.signal(SIGINT);
      int code = p.wait();
      CHECK((code == 130 || code == 0));
      auto ls = run_banger({"image", "ls", "--json"}, home_env(t));
      if (code == 130) {
        interrupted++;
        CHECK(ls.out == "[]\n");
      } else {
        CHECK(ls.out.find("\"img\"") != std::string::npos);  // finished first: published whole
      }
      CHECK(staging_leftovers(t).empty());
    }
  }
  CHECK(interrupted > 0);  // the schedule does reach inside pulls
}
