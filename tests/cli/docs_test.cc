// The examples in docs/recipes.md and docs/api.md, run as written: each
// ```lua block that starts with "-- file: PATH" is written to PATH in a fresh
// project. api.md's reference part must be what `banger help --api` prints.
#include <catch2/catch.hpp>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/cli.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

using namespace banger;
using namespace banger::test;

namespace {

struct DocBlock {
  std::string path;
  std::string code;
};

std::string doc_text(const std::string& doc) {
  return fs::read_file(std::string(BANGER_SOURCE_DIR) + "/docs/" + doc);
}

std::vector<DocBlock> doc_blocks(const std::string& doc = "recipes.md") {
  std::string text = doc_text(doc);
  std::vector<DocBlock> out;
  size_t pos = 0;
  while ((pos = text.find("```lua\n-- file: ", pos)) != std::string::npos) {
    size_t path_start = pos + 16;
    size_t nl = text.find('\n', path_start);
    size_t end = text.find("```\n", nl);
    out.push_back({text.substr(path_start, nl - path_start), text.substr(nl + 1, end - nl - 1)});
    pos = end;
  }
  return out;
}

// The n-th block written to `path` (a doc may show several versions of a file).
std::string block(const std::string& path, int nth = 0, const std::string& doc = "recipes.md") {
  for (const auto& b : doc_blocks(doc))
    if (b.path == path && nth-- == 0) return b.code;
  FAIL("docs/" << doc << " has no example for " << path);
  return "";
}

CliOptions project(const TempDir& t) {
  CliOptions o;
  o.env = {{"BANGER_HOME", t / "home"}, {"XDG_CONFIG_HOME", t / "config"}};
  o.cwd = t / "project";
  return o;
}

// A tiny one-layer OCI layout with /etc/hostname, to pull without a network.
std::string tiny_layout(const TempDir& t) {
  fs::make_dirs(t / "rootfs/etc");
  fs::write_file(t / "rootfs/etc/hostname", "tiny\n");
  run_checked({"tar", "-C", t / "rootfs", "-cf", t / "layer.tar", "."}, "tar");
  umoci_image(t / "layout", "v1", {t / "layer.tar"});
  return "oci:" + (t / "layout") + ":v1";
}

void write_in_project(const TempDir& t, const std::string& rel, const std::string& code) {
  std::string path = t / ("project/" + rel);
  fs::make_dirs(path.substr(0, path.rfind('/')));
  fs::write_file(path, code);
}

}  // namespace

TEST_CASE("docs: every recipes.md example names its file", "[docs]") {
  auto blocks = doc_blocks();
  CHECK(blocks.size() >= 5);
}

TEST_CASE("docs: 'replace a built-in' replaces image ls in the project", "[docs]") {
  TempDir t;
  write_in_project(t, ".banger/recipes/image_ls.lua", block(".banger/recipes/image_ls.lua"));
  REQUIRE(run_banger({"image", "pull", tiny_layout(t), "--name", "tiny"}, project(t)).code == 0);
  auto r = run_banger({"image", "ls"}, project(t));
  CHECK(r.code == 0);
  CHECK(r.out == "tiny\n");
  CHECK(run_banger({"recipes", "which", "image_ls"}, project(t)).out ==
        t / "project/.banger/recipes/image_ls.lua\n");
}

TEST_CASE("docs: 'extend a built-in' hooks the build stage of image pull", "[docs]") {
  TempDir t;
  write_in_project(t, ".banger/recipes/image_pull.lua", block(".banger/recipes/image_pull.lua", 0));
  auto pull = run_banger({"image", "pull", tiny_layout(t), "--name", "tiny"}, project(t));
  REQUIRE(pull.code == 0);
  auto motd = run_banger({"image", "cat", "tiny", "/etc/motd"}, project(t));
  CHECK(motd.out == "built for this project\n");
}

TEST_CASE("docs: 'wrap a built-in' runs the original and adds a step", "[docs]") {
  TempDir t;
  write_in_project(t, ".banger/recipes/image_pull.lua", block(".banger/recipes/image_pull.lua", 1));
  std::string ref = tiny_layout(t);
  auto pull = run_banger({"image", "pull", ref, "--name", "tiny"}, project(t));
  CHECK(pull.code == 0);
  // The base it wraps prints as usual, then the wrapper adds its line.
  CHECK(pull.out == "pulled " + ref + " as image 'tiny'\npulled tiny: 1 entries in /etc\n");
}

TEST_CASE("docs: the script example runs with banger run", "[docs]") {
  TempDir t;
  write_in_project(t, "hello.lua", block("hello.lua"));
  auto r = run_banger({"run", "hello.lua", "a", "b"}, project(t));
  CHECK(r.code == 0);
  CHECK(r.out == "hello from banger 0.1.0, args: a b\n");
}

TEST_CASE("docs: the image build file is one banger reads, with the keys it shows", "[docs]") {
  TempDir t;
  write_in_project(t, ".banger/image.lua", block(".banger/image.lua"));
  write_in_project(t, "check.lua",
                   "local s = banger.build.load(banger.build.find_file())\n"
                   "print(s.name, s.from, table.concat(s.packages, ','), #s.files, s.files[1].mode, #s.run, "
                   "s.workspace)\n");
  auto r = run_banger({"run", "check.lua"}, project(t));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "myproj-dev\tdebian-bookworm\tgit,make\t1\t420\t2\t/work\n");
}

TEST_CASE("docs: the project's sandbox file boots a VM with 'banger run'", "[docs][e2e][vm]") {
  SandboxHome home;
  std::string proj = home.path("project");
  fs::make_dirs(proj + "/.banger");
  fs::write_file(proj + "/.banger/sandbox.lua", block(".banger/sandbox.lua"));
  // A repository, as a project is: its files are the sandbox's workspace.
  run_checked({"git", "-C", proj, "init", "-q"}, "git init");
  CliOptions o = home.env();
  o.cwd = proj;
  auto r = run_banger({"run"}, o);
  CHECK(r.code == 0);
  CHECK(r.out == "testing on 2 CPUs with CI=1\n");
  CHECK(home.must({"vm", "ls", "--json"}).out == "[]\n");
}

TEST_CASE("docs: the workspace example builds a disk, plays the guest and exports the change", "[docs]") {
  TempDir t;
  write_in_project(t, "workspace.lua", block("workspace.lua"));
  auto r = run_banger({"run", "workspace.lua"}, project(t));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "dir\t0\t1\t0\nhello from the guest\n");
}

TEST_CASE("docs: the project sandbox recipe boots a VM with 'banger run'", "[docs][e2e][vm]") {
  SandboxHome home;
  std::string proj = home.path("project");
  fs::make_dirs(proj + "/.banger/recipes");
  fs::write_file(proj + "/.banger/recipes/run.lua", block(".banger/recipes/run.lua"));
  CliOptions o = home.env();
  o.cwd = proj;
  auto r = run_banger({"run"}, o);
  CHECK(r.code == 0);
  CHECK(r.out.rfind("testing in debian-bookworm-", 0) == 0);
  CHECK(home.must({"vm", "ls", "--json"}).out == "[]\n");
}

TEST_CASE("docs: api.md's reference is what 'banger help --api' prints", "[docs]") {
  TempDir t;
  std::string text = doc_text("api.md");
  const std::string marker = "a test keeps it equal. -->\n\n";
  size_t at = text.find(marker);
  REQUIRE(at != std::string::npos);
  fs::make_dirs(t / "project");
  auto r = run_banger({"help", "--api"}, project(t));
  REQUIRE(r.code == 0);
  // On a mismatch: ./build/banger help --api replaces everything below the marker.
  CHECK(text.substr(at + marker.size()) == r.out);
  // Every module's functions and every built-in recipe are in it.
  for (const char* name : {"### `vm.connect(name)`", "### `banger.vm.Client`", "### `workspace.",
                           "### `vm_run` ", "### `recipe:call(args, parent)`", "### `process.run("})
    CHECK(r.out.find(name) != std::string::npos);
}

TEST_CASE("docs: api.md's example calls a recipe with a mistyped param and gets its name back", "[docs]") {
  TempDir t;
  write_in_project(t, "check-args.lua", block("check-args.lua", 0, "api.md"));
  auto r = run_banger({"run", "check-args.lua"}, project(t));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "false\tinvalid_input\tunknown param 'cpu' for 'banger vm run'\ndid you mean 'cpus'?\n");
}

TEST_CASE("docs: api.md's example captures a guest command's output as a string", "[docs][e2e][vm]") {
  SandboxHome home;
  std::string proj = home.path("project");
  fs::make_dirs(proj);
  fs::write_file(proj + "/capture.lua", block("capture.lua", 0, "api.md"));
  CliOptions o = home.env();
  o.cwd = proj;
  auto r = run_banger({"run", "capture.lua"}, o);
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out.size() >= 17);
  CHECK(r.out.substr(r.out.size() - 17) == "exit 0: captured\n");
  CHECK(home.must({"vm", "ls", "--json"}).out == "[]\n");
}
