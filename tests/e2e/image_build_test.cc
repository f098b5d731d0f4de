// End to end under TCG: image builds (banger image build), vm commit and
// image prune, with real VMs. The package comes from Debian's archive
// through the host's apt (never through the guest, which has no network
// while it installs); the steps reach nothing outside the VM.
#include <catch2/catch.hpp>

#include <dirent.h>

#include <string>

#include <nlohmann/json.hpp>

#include "host/core/fs.h"
#include "tests/support/sandbox_home.h"

using namespace banger;
using namespace banger::test;
using Json = nlohmann::json;

namespace {

// A build file with a package that is not in the test image (hello), an
// inline file with a mode and owner, a user and two steps (the first reads
// the project's files, the workspace); `last` is the last step.
std::string build_file(const std::string& last) {
  return "return {\n"
         "  name = \"tb\", from = \"debian-bookworm\",\n"
         "  packages = { \"hello\" },\n"
         "  files = { { path = \"/etc/tb/motd\", content = \"built by banger\\n\", mode = \"0640\", owner = "
         "\"nobody:nogroup\" } },\n"
         "  env = { GREETING = \"hi\" },\n"
         "  workspace = true,\n"
         "  run = { \"useradd -m dev && cp /work/data.txt /home/dev/\", \"" +
         last +
         "\" },\n"
         "}\n";
}

// What a VM of image `image` sees of the build.
std::string inspect(const SandboxHome& home, const std::string& image) {
  return home
      .must({"vm", "run", "--rm", "--net", "none", image, "--", "sh", "-c",
             "hello; cat /etc/tb/motd; stat -c '%a %U %G' /etc/tb/motd; id -un dev; cat /home/dev/data.txt "
             "/home/dev/note"})
      .out;
}

int count_files(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

Json image_record(const SandboxHome& home, const std::string& name) {
  for (const auto& r : Json::parse(home.must({"image", "ls", "--all", "--json"}).out))
    if (r["name"] == name) return r;
  return nullptr;
}

}  // namespace

TEST_CASE(
    "e2e image build: packages, files, a user and steps make an image its VMs see - an unchanged file is up "
    "to date - a changed last step rebuilds from the packages cache - a failing step names itself and "
    "leaves nothing",
    "[e2e][vm][build]") {
  SandboxHome home;
  fs::make_dirs(home.path("proj/.banger"));
  fs::write_file_atomic(home.path("proj/.banger/image.lua"),
                        build_file("echo $GREETING from step two > /home/dev/note"));
  fs::write_file(home.path("proj/data.txt"), "from the project\n");
  CliOptions in_project = home.env();
  in_project.cwd = home.path("proj");

  auto first = run_banger({"image", "build"}, in_project);
  INFO(first.err);
  REQUIRE(first.code == 0);
  CHECK(first.out == "built image 'tb' from " + home.path("proj/.banger/image.lua") + "\n");
  CHECK(first.err.find("packages: installing 1 .deb files in a build VM") != std::string::npos);
  CHECK(first.err.find("step 2 of 2: echo $GREETING from step two > /home/dev/note") != std::string::npos);
  CHECK(inspect(home, "tb") ==
        "Hello, world!\nbuilt by banger\n640 nobody nogroup\ndev\nfrom the project\nhi from step two\n");
  // The build VMs are gone; the packages stage is kept as a cache image.
  CHECK(Json::parse(home.must({"vm", "ls", "--json"}).out).empty());
  Json tb = image_record(home, "tb");
  REQUIRE(tb.is_object());
  CHECK(tb["source"] == "build");
  const std::string cache = tb["build_from_cache"].get<std::string>();
  CHECK(image_record(home, cache)["source"] == "build-cache");
  CHECK(home.must({"image", "ls"}).out.find(cache) == std::string::npos);
  CHECK(home.must({"image", "ls"}).out.find("build " + home.path("proj/.banger/image.lua")) !=
        std::string::npos);

  // Unchanged: up to date, nothing booted.
  auto again = run_banger({"image", "build"}, in_project);
  CHECK(again.code == 0);
  CHECK(again.out == "image 'tb' is up to date (" + home.path("proj/.banger/image.lua") + ")\n");
  CHECK(again.err.find("build VM") == std::string::npos);

  // The last step changed: the packages come from the cache.
  fs::write_file_atomic(home.path("proj/.banger/image.lua"), build_file("echo changed > /home/dev/note"));
  auto changed = run_banger({"image", "build"}, in_project);
  INFO(changed.err);
  REQUIRE(changed.code == 0);
  CHECK(changed.err.find("packages: from the cache (image " + cache + ")") != std::string::npos);
  CHECK(changed.err.find("installing") == std::string::npos);
  CHECK(inspect(home, "tb") ==
        "Hello, world!\nbuilt by banger\n640 nobody nogroup\ndev\nfrom the project\nchanged\n");

  // A failing step: its number, exit code and output; no image, no VM.
  fs::write_file_atomic(home.path("proj/.banger/image.lua"),
                        "return { name = \"tb-broken\", from = \"debian-bookworm\",\n"
                        "  run = { \"echo fine\", \"echo first line; echo oops >&2; exit 3\" } }\n");
  auto broken = run_banger({"image", "build"}, in_project);
  CHECK(broken.code == 7);
  CHECK(broken.err.find(
            "error: image build: step 2 of 2 failed (exit 3): echo first line; echo oops >&2; exit 3\n"
            "  its output ended with:\n"
            "    first line\n"
            "    oops\n"
            "  hint: fix it and build again; nothing was published\n") != std::string::npos);
  CHECK(image_record(home, "tb-broken").is_null());
  CHECK(Json::parse(home.must({"vm", "ls", "--json"}).out).empty());
  CHECK(count_files(home.path("home/staging")) == 0);
  CHECK(qemu_processes(home.path("home/")) == 0);

  // A sandbox whose image is the build file: banger run builds it when stale.
  fs::write_file_atomic(home.path("proj/.banger/image.lua"),
                        build_file("echo for the sandbox > /home/dev/note"));
  fs::write_file_atomic(home.path("proj/.banger/sandbox.lua"),
                        "return { image = \".banger/image.lua\", workspace = false, net = \"none\",\n"
                        "  command = \"cat /home/dev/note; hello\" }\n");
  auto sandbox = run_banger({"run"}, in_project);
  INFO(sandbox.err);
  CHECK(sandbox.code == 0);
  CHECK(sandbox.out == "for the sandbox\nHello, world!\n");
  CHECK(sandbox.err.find("packages: from the cache") != std::string::npos);
  auto up_to_date = run_banger({"run"}, in_project);
  CHECK(up_to_date.out == "for the sandbox\nHello, world!\n");
  CHECK(up_to_date.err.find("step 1 of 2") == std::string::npos);
}

TEST_CASE(
    "e2e vm commit: a stopped VM's disk becomes an image whose VMs see what it wrote - image prune frees "
    "the blobs and build caches no image needs",
    "[e2e][vm][build]") {
  SandboxHome home;
  home.must({"vm", "create", "--net", "none", "--name", "c1"});
  home.must({"vm", "start", "c1"});
  home.must({"vm", "exec", "c1", "--", "sh", "-c", "echo committed > /root/made-in-c1"});

  auto running = run_banger({"vm", "commit", "c1", "c1-image"}, home.env());
  CHECK(running.code == 4);
  CHECK(running.err ==
        "error: VM 'c1' is running: its disk can be saved only when it is stopped\n"
        "  hint: stop it first: 'banger vm stop c1'\n");

  home.must({"vm", "stop", "c1"});
  CHECK(home.must({"vm", "commit", "c1", "c1-image"}).out == "saved VM 'c1' as image 'c1-image'\n");
  CHECK(home.must({"vm", "run", "--rm", "--net", "none", "c1-image", "--", "cat", "/root/made-in-c1"}).out ==
        "committed\n");
  CHECK(home.must({"image", "ls"}).out.find("commit of c1 (debian-bookworm)") != std::string::npos);

  // The pulled image's blobs stay while it is there, and go with it.
  const std::string blobs = home.path("home/blobs/sha256");
  int before = count_files(blobs);
  REQUIRE(before > 0);
  CHECK(home.must({"image", "prune"}).out == "removed 0 cached blobs (0 B)\n");
  home.must({"vm", "rm", "c1"});
  home.must({"image", "rm", "debian-bookworm"});
  auto pruned = home.must({"image", "prune"}).out;
  CHECK(pruned.find("removed " + std::to_string(before) + " cached blobs (") == 0);
  CHECK(count_files(blobs) == 0);
  // The committed image is whole without its base or the blobs.
  CHECK(home.must({"vm", "run", "--rm", "--net", "none", "c1-image", "--", "cat", "/root/made-in-c1"}).out ==
        "committed\n");
}
