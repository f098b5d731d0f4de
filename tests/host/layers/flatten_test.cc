#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/core/process.h"
#include "host/core/sha256.h"
#include "host/ext4/editor.h"
#include "host/layers/build.h"
#include "host/layers/layer_reader.h"
#include "tests/support/ext4_dump.h"
#include "tests/support/tar_builder.h"

using namespace banger;
using banger::test::TarAttrs;
using banger::test::TarBuilder;

namespace {

struct Fixture {
  std::string dir;
  std::vector<layers::Layer> layers;
  std::string image;
  Fixture() {
    dir = fs::make_temp_dir(std::filesystem::temp_directory_path().string(), "layers-test-");
    image = dir + "/rootfs.ext4";
  }
  ~Fixture() { fs::remove_all(dir); }

  void add(TarBuilder& t, TarBuilder::Compression c = TarBuilder::gzip) {
    std::string name = "sha256:layer" + std::to_string(layers.size());
    std::string path = dir + "/layer" + std::to_string(layers.size());
    fs::write_file(path, t.finish(c));
    layers.push_back(layers::Layer{path, -1, layers::Compression::detect, name});
  }
  layers::BuildStats build(std::optional<uint64_t> size = 64 * ext4::kMiB) {
    layers::BuildOptions o;
    o.size = size;
    auto stats = layers::build_image(layers, image, o);
    auto r = test::e2fsck(image);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return stats;
  }
  // The build's error (message, hint), asserting it failed and left nothing.
  Error build_error(std::optional<uint64_t> size = 64 * ext4::kMiB) {
    try {
      build(size);
    } catch (const Error& e) {
      REQUIRE_FALSE(fs::exists(image));
      return e;
    }
    FAIL("the build did not fail");
    return Error(ErrorKind::internal, "");
  }
  std::unique_ptr<ext4::Editor> open() { return ext4::Editor::open(image, false); }
};

std::vector<std::string> names(ext4::Editor& im, const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : im.ls(dir)) out.push_back(e.name);
  return out;
}

}  // namespace

TEST_CASE("flatten: a whiteout deletes the lower file and a lower directory recursively", "[layers]") {
  Fixture f;
  TarBuilder l0, l1;
  l0.file("etc/motd", "hi").file("etc/keep", "k").dir("var/cache/apt").file("var/cache/apt/x", "x");
  l1.whiteout("etc/motd").whiteout("var/cache").whiteout("nothing/here");
  f.add(l0);
  f.add(l1);
  f.build();
  auto im = f.open();
  REQUIRE(names(*im, "/etc") == std::vector<std::string>{"keep"});
  REQUIRE(names(*im, "/var") == std::vector<std::string>{});
  REQUIRE(test::debugfs(f.image, "ls -l /var/cache").find("File not found") != std::string::npos);
}

TEST_CASE("flatten: an opaque directory hides lower entries, keeps its own layer's", "[layers]") {
  Fixture f;
  TarBuilder l0, l1;
  l0.dir("opt/app").file("opt/app/old", "old").dir("opt/app/sub").file("opt/app/sub/deep", "d");
  l0.file("opt/other", "o");
  // Same-layer entries both before and after the marker survive.
  l1.dir("opt/app").file("opt/app/before", "b").opaque("opt/app").file("opt/app/after", "a");
  f.add(l0);
  f.add(l1);
  f.build();
  auto im = f.open();
  REQUIRE(names(*im, "/opt/app") == std::vector<std::string>{"after", "before"});
  REQUIRE(names(*im, "/opt") == std::vector<std::string>{"app", "other"});
  REQUIRE(im->read("/opt/app/after") == "a");
}

TEST_CASE("flatten: a later file replaces a directory and a directory replaces a file", "[layers]") {
  Fixture f;
  TarBuilder l0, l1;
  l0.dir("a").file("a/inner", "1").file("b", "file b");
  l1.file("a", "now a file").dir("b").file("b/inner", "2");
  f.add(l0);
  f.add(l1);
  f.build();
  auto im = f.open();
  REQUIRE(im->stat("/a").type == ext4::FileType::regular);
  REQUIRE(im->read("/a") == "now a file");
  REQUIRE(im->stat("/b").type == ext4::FileType::directory);
  REQUIRE(im->read("/b/inner") == "2");
}

TEST_CASE("flatten: hard links share one inode with the right link count", "[layers]") {
  Fixture f;
  TarBuilder l0, l1;
  l0.file("usr/bin/perl", "#!perl", {.mode = 0755}).hardlink("usr/bin/perl5", "usr/bin/perl");
  l0.hardlink("usr/bin/perl5.36", "usr/bin/perl");
  l1.whiteout("usr/bin/perl5");
  f.add(l0);
  f.add(l1);
  f.build();
  auto im = f.open();
  auto a = im->stat("/usr/bin/perl");
  auto b = im->stat("/usr/bin/perl5.36");
  REQUIRE(a.ino == b.ino);
  REQUIRE(a.nlink == 2);
  REQUIRE(b.mode == 0755);
  REQUIRE_FALSE(im->exists("/usr/bin/perl5"));
  REQUIRE(im->read("/usr/bin/perl5.36") == "#!perl");
  REQUIRE(test::debugfs(f.image, "stat /usr/bin/perl").find("Links: 2") != std::string::npos);
}

TEST_CASE("flatten: symlinks keep their targets, fast and slow", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.symlink("bin", "usr/bin").symlink("slow", std::string(300, 's') + "/target");
  l0.symlink("abs", "/etc/os-release");
  f.add(l0);
  f.build();
  auto im = f.open();
  REQUIRE(im->stat("/bin").target == "usr/bin");
  REQUIRE(im->stat("/slow").target == std::string(300, 's') + "/target");
  REQUIRE(im->stat("/abs").target == "/etc/os-release");
  REQUIRE(test::debugfs(f.image, "stat /bin").find("Fast link dest: \"usr/bin\"") != std::string::npos);
}

TEST_CASE("flatten: character and block devices keep their numbers", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.device("dev/null", false, 1, 3, {.mode = 0666}).device("dev/sda", true, 8, 0);
  l0.device("dev/nvme0n1p300", true, 259, 300);
  f.add(l0);
  f.build();
  auto im = f.open();
  auto null = im->stat("/dev/null");
  REQUIRE((null.type == ext4::FileType::char_device && null.dev_major == 1 && null.dev_minor == 3 &&
           null.mode == 0666));
  auto sda = im->stat("/dev/sda");
  REQUIRE((sda.type == ext4::FileType::block_device && sda.dev_major == 8 && sda.dev_minor == 0));
  auto nvme = im->stat("/dev/nvme0n1p300");
  REQUIRE((nvme.dev_major == 259 && nvme.dev_minor == 300));
  REQUIRE(test::debugfs(f.image, "stat /dev/null").find("Device major/minor number: 01:03") !=
          std::string::npos);
}

TEST_CASE("flatten: fifos are created, sockets skipped", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.fifo("run/initctl", {.mode = 0600});
  f.add(l0);
  f.build();
  auto im = f.open();
  REQUIRE(im->stat("/run/initctl").type == ext4::FileType::fifo);
  REQUIRE(im->stat("/run/initctl").mode == 0600);
  REQUIRE(test::debugfs(f.image, "stat /run/initctl").find("Type: FIFO") != std::string::npos);
}

TEST_CASE("flatten: setuid, setgid and sticky bits survive", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("usr/bin/su", "su", {.mode = 04755}).file("usr/bin/wall", "w", {.mode = 02755, .gid = 5});
  l0.dir("tmp", {.mode = 01777});
  f.add(l0);
  f.build();
  auto im = f.open();
  REQUIRE(im->stat("/usr/bin/su").mode == 04755);
  REQUIRE(im->stat("/usr/bin/wall").mode == 02755);
  REQUIRE(im->stat("/tmp").mode == 01777);
  REQUIRE(test::debugfs(f.image, "stat /usr/bin/su").find("Mode:  04755") != std::string::npos);
  REQUIRE(test::debugfs(f.image, "stat /tmp").find("Mode:  01777") != std::string::npos);
}

TEST_CASE("flatten: uid and gid are exact, 32-bit ones included", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("home/u/f", "u", {.mode = 0600, .uid = 100000, .gid = 100001});
  l0.dir("home/u", {.mode = 0700, .uid = 1000, .gid = 1000});
  f.add(l0);
  f.build();
  auto im = f.open();
  auto u = im->stat("/home/u/f");
  REQUIRE((u.uid == 100000 && u.gid == 100001 && u.mode == 0600));
  auto d = im->stat("/home/u");
  REQUIRE((d.uid == 1000 && d.gid == 1000 && d.mode == 0700));
  REQUIRE(test::debugfs(f.image, "stat /home/u/f").find("User: 100000   Group: 100001") != std::string::npos);
}

TEST_CASE("flatten: xattrs from PAX headers are stored", "[layers]") {
  Fixture f;
  TarBuilder l0;
  std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  l0.file("usr/bin/ping", "p",
          {.mode = 0755, .xattrs = {{"security.capability", cap}, {"user.note", "hello"}}});
  l0.dir("d", {.xattrs = {{"user.dir", "x"}}});
  f.add(l0);
  f.build();
  auto im = f.open();
  auto ping = im->stat("/usr/bin/ping");
  REQUIRE(ping.xattrs.size() == 2);
  REQUIRE(ping.xattrs[0].name == "security.capability");
  REQUIRE(ping.xattrs[0].value == cap);
  REQUIRE(ping.xattrs[1].name == "user.note");
  REQUIRE(ping.xattrs[1].value == "hello");
  REQUIRE(im->stat("/d").xattrs.at(0).value == "x");
  REQUIRE(test::debugfs(f.image, "ea_list /usr/bin/ping").find("user.note (5) = \"hello\"") !=
          std::string::npos);
}

TEST_CASE("flatten: mtimes keep their nanoseconds", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("t", "t", {.mtime = 1234567890, .mtime_nsec = 987654321});
  l0.dir("d", {.mtime = 1000000000});
  f.add(l0);
  f.build();
  auto im = f.open();
  REQUIRE(im->stat("/t").mtime == ext4::Timespec{1234567890, 987654321});
  REQUIRE(im->stat("/d").mtime.sec == 1000000000);
  REQUIRE(test::debugfs(f.image, "stat /t").find("mtime: 0x499602d2:eb79a2c4") != std::string::npos);
}

TEST_CASE("flatten: long names and deep paths", "[layers]") {
  Fixture f;
  TarBuilder l0;
  std::string long_name(255, 'n');
  std::string deep;
  for (int i = 0; i < 8; ++i) deep.append(120, char('a' + i)).append("/");
  l0.file(long_name, "long").file(deep + "leaf", "deep");
  f.add(l0);
  f.build();
  auto im = f.open();
  REQUIRE(im->read("/" + long_name) == "long");
  REQUIRE(im->read("/" + deep + "leaf") == "deep");
  REQUIRE(test::debugfs(f.image, "cat /" + long_name) == "long");
}

TEST_CASE("flatten: a name longer than 255 bytes is refused", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file(std::string(256, 'n'), "x");
  f.add(l0);
  REQUIRE(f.build_error().message() ==
          "layer sha256:layer0: \"" + std::string(256, 'n') + "\": a name is longer than 255 bytes");
}

TEST_CASE("flatten: a directory of 20,000 entries is fast and hashed", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.dir("big");
  for (int i = 0; i < 20000; ++i) l0.file("big/file-" + std::to_string(i), "");
  f.add(l0);
  auto t0 = std::chrono::steady_clock::now();
  auto stats = f.build(256 * ext4::kMiB);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(stats.fs.files == 20000);
  CHECK(secs < 5);
  auto im = f.open();
  REQUIRE(im->ls("/big").size() == 20000);
  REQUIRE(test::debugfs(f.image, "stat /big").find("Flags: 0x81000") != std::string::npos);
  REQUIRE(test::debugfs(f.image, "htree_dump /big").find("Number of entries") != std::string::npos);
  REQUIRE(test::debugfs(f.image, "stat /big/file-12345").find("Type: regular") != std::string::npos);
}

TEST_CASE("flatten: zstd, uncompressed and streamed layers apply alike", "[layers]") {
  Fixture f;
  TarBuilder l0, l1, l2;
  l0.file("a", "zstd");
  l1.file("b", "plain");
  l2.file("c", "stream");
  f.add(l0, TarBuilder::zstd);
  f.add(l1, TarBuilder::none);
  std::string p = f.dir + "/stream.tar.gz";
  fs::write_file(p, l2.finish(TarBuilder::gzip));
  int fd = ::open(p.c_str(), O_RDONLY);
  f.layers.push_back(layers::Layer{"", fd, layers::Compression::detect, "stream"});
  f.build();
  ::close(fd);
  auto im = f.open();
  REQUIRE(im->read("/a") == "zstd");
  REQUIRE(im->read("/b") == "plain");
  REQUIRE(im->read("/c") == "stream");
}

TEST_CASE("flatten: the default size is 1 GiB for a small image, sparse", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("x", std::string(1 << 20, 'x'));
  f.add(l0);
  auto stats = f.build(std::nullopt);
  struct stat st {};
  REQUIRE(::stat(f.image.c_str(), &st) == 0);
  REQUIRE(st.st_size == static_cast<off_t>(ext4::kGiB));
  REQUIRE(stats.fs.image_size == ext4::kGiB);
  REQUIRE(st.st_blocks * 512 < 200 * static_cast<off_t>(ext4::kMiB));
  REQUIRE(test::debugfs(f.image, "stats").find("has_journal") != std::string::npos);
}

TEST_CASE("flatten: a stream of unknown size is shrunk to the default size", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("x", std::string(1 << 20, 'x'));
  std::string p = f.dir + "/stream.tar";
  fs::write_file(p, l0.finish());
  int fd = ::open(p.c_str(), O_RDONLY);
  f.layers.push_back(layers::Layer{"", fd, layers::Compression::detect, "stream"});
  f.build(std::nullopt);
  ::close(fd);
  struct stat st {};
  REQUIRE(::stat(f.image.c_str(), &st) == 0);
  REQUIRE(st.st_size == static_cast<off_t>(ext4::kGiB));
  REQUIRE(f.open()->read("/x") == std::string(1 << 20, 'x'));
}

TEST_CASE("flatten: the same input with a fixed uuid and time gives the same bytes", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("etc/a", "a").dir("d").symlink("s", "etc/a");
  f.add(l0);
  layers::BuildOptions o;
  o.size = 64 * ext4::kMiB;
  o.uuid = std::array<uint8_t, 16>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  o.timestamp = 1700000000;
  layers::build_image(f.layers, f.dir + "/one.ext4", o);
  layers::build_image(f.layers, f.dir + "/two.ext4", o);
  REQUIRE(fs::read_file(f.dir + "/one.ext4") == fs::read_file(f.dir + "/two.ext4"));
}

// ---- bad input ----

TEST_CASE("flatten: a path climbing out of the root is refused", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("etc/ok", "").file("../x", "escape");
  f.add(l0);
  auto e = f.build_error();
  REQUIRE(e.message() == "layer sha256:layer0: \"../x\": path leaves the image root");
  REQUIRE(e.hint() == "the layer is malformed or malicious; nothing of it was applied");
}

TEST_CASE("flatten: an absolute path is refused", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("/etc/passwd", "root::0:0");
  f.add(l0);
  REQUIRE(f.build_error().message() == "layer sha256:layer0: \"/etc/passwd\": absolute path");
}

TEST_CASE("flatten: writing through a symlinked parent is refused", "[layers]") {
  Fixture f;
  TarBuilder l0, l1;
  l0.symlink("evil", "/etc").dir("etc");
  l1.file("evil/passwd", "pwned");
  f.add(l0);
  f.add(l1);
  REQUIRE(f.build_error().message() ==
          "layer sha256:layer1: /evil/passwd: parent /evil is a symlink; refusing to write through it");
  // Same with a relative link that climbs out, and with a whiteout.
  Fixture g;
  TarBuilder m0;
  m0.symlink("up", "../../..").file("up/x", "");
  g.add(m0);
  REQUIRE(g.build_error().message() ==
          "layer sha256:layer0: /up/x: parent /up is a symlink; refusing to write through it");
  Fixture h;
  TarBuilder n0, n1;
  n0.dir("etc").file("etc/keep", "").symlink("link", "etc");
  n1.whiteout("link/keep");
  h.add(n0);
  h.add(n1);
  REQUIRE(h.build_error().message() ==
          "layer sha256:layer1: /link/keep: parent /link is a symlink; refusing to write through it");
}

TEST_CASE("flatten: a hard link to a missing or removed file is an error naming it", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.hardlink("usr/bin/b", "usr/bin/a");
  f.add(l0);
  REQUIRE(f.build_error().message() ==
          "layer sha256:layer0: /usr/bin/b: hard link target /usr/bin/a does not exist");
  Fixture g;
  TarBuilder m0, m1;
  m0.file("a", "a");
  m1.whiteout("a").hardlink("b", "a");
  g.add(m0);
  g.add(m1);
  REQUIRE(g.build_error().message() == "layer sha256:layer1: /b: hard link target /a does not exist");
}

TEST_CASE("flatten: a truncated or corrupt gzip layer is an error naming the layer", "[layers]") {
  Fixture f;
  TarBuilder l0;
  std::string big;
  for (int i = 0; i < 200000; ++i) big += std::to_string(i * 7919);
  l0.file("a", big).file("b", big);
  std::string gz = l0.finish(TarBuilder::gzip);
  fs::write_file(f.dir + "/cut", gz.substr(0, gz.size() / 2));
  f.layers.push_back(layers::Layer{f.dir + "/cut", -1, layers::Compression::detect, "sha256:cut"});
  auto e = f.build_error();
  INFO(e.message());
  // Named by the entry being read when the data ran out.
  REQUIRE((e.message().rfind("layer sha256:cut: reading /a: ", 0) == 0 ||
           e.message().rfind("layer sha256:cut: reading /b: ", 0) == 0));
  REQUIRE(e.kind() == ErrorKind::invalid_input);

  Fixture g;
  std::string bad = gz;
  for (size_t i = 100; i < 400; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  fs::write_file(g.dir + "/bad", bad);
  g.layers.push_back(layers::Layer{g.dir + "/bad", -1, layers::Compression::detect, "sha256:bad"});
  auto e2 = g.build_error();
  INFO(e2.message());
  REQUIRE(e2.message().rfind("layer sha256:bad: reading: ", 0) == 0);
}

TEST_CASE("flatten: an image too small is a clear error, never a corrupt image", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("usr/lib/small", "s").file("usr/lib/x", std::string(20 << 20, 'x'));
  f.add(l0);
  auto e = f.build_error(16 * ext4::kMiB);
  REQUIRE(e.message() == "layer sha256:layer0: image full: writing /usr/lib/x: needs a larger --size");
  REQUIRE(e.kind() == ErrorKind::io);
}

TEST_CASE("flatten: an opaque root or a whited-out lost+found still gives a valid image", "[layers]") {
  Fixture f;
  TarBuilder l0, l1;
  l0.file("old", "o").dir("lost+found", {.mode = 0700});
  l1.opaque(".").file("new", "n").whiteout("lost+found");
  f.add(l0);
  f.add(l1);
  f.build();
  auto im = f.open();
  REQUIRE(names(*im, "/") == std::vector<std::string>{"lost+found", "new"});
}

TEST_CASE("flatten: Ctrl-C stops the build and removes the image", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("a", "a");
  f.add(l0);
  set_interrupted(true);
  auto e = f.build_error();
  set_interrupted(false);
  REQUIRE(e.kind() == ErrorKind::interrupted);
}

TEST_CASE("flatten: SOURCE_DATE_EPOCH dates the directories the build makes up", "[layers]") {
  Fixture f;
  TarBuilder l0;
  l0.file("implied/parent/file", "x");
  f.add(l0);
  setenv("SOURCE_DATE_EPOCH", "1600000000", 1);
  f.build();
  unsetenv("SOURCE_DATE_EPOCH");
  auto im = f.open();
  REQUIRE(im->stat("/implied/parent").mtime.sec == 1600000000);
  REQUIRE(im->stat("/implied").mode == 0755);
  REQUIRE(im->stat("/implied").uid == 0);
}

TEST_CASE("flatten: the kernel mounts the image and sees what banger's reader sees", "[layers][mount]") {
  Fixture f;
  TarBuilder l0, l1;
  l0.dir("etc").file("etc/a", "a", {.mode = 04755, .uid = 7, .gid = 8}).hardlink("etc/b", "etc/a");
  l0.symlink("bin", "usr/bin").device("dev/null", false, 1, 3, {.mode = 0666}).fifo("run/f");
  l0.file("usr/bin/ping", "p", {.xattrs = {{"user.x", "1"}}});
  l0.dir("big");
  for (int i = 0; i < 20000; ++i) l0.file("big/f" + std::to_string(i), std::to_string(i));
  l1.whiteout("big/f7").opaque("etc").file("etc/c", "c");
  f.add(l0);
  f.add(l1);
  f.build(256 * ext4::kMiB);
  std::string mnt = f.dir + "/mnt";
  fs::make_dirs(mnt);
  auto r = run_capture({"mount", "-o", "loop,ro", f.image, mnt});
  if (r.exit_code != 0) {
    WARN("skipped: cannot loop-mount here: " << r.err);
    return;
  }
  std::string from_kernel = test::tree_listing(mnt);
  run_capture({"umount", mnt});
  std::string from_reader = test::image_listing(f.image);
  REQUIRE(from_kernel == from_reader);
  REQUIRE(from_kernel.find("/big/f19999 file 0644 0:0 size=5") != std::string::npos);
  REQUIRE(from_kernel.find("/big/f7 ") == std::string::npos);
  REQUIRE(from_kernel.find("/etc/c file") != std::string::npos);
  REQUIRE(from_kernel.find("/etc/a ") == std::string::npos);
}

TEST_CASE("flatten: a path longer than PATH_MAX is refused", "[layers]") {
  Fixture f;
  TarBuilder l0;
  std::string deep;
  for (int i = 0; i < 2100; ++i) deep += "a/";
  l0.file(deep + "x", "x");
  f.add(l0);
  REQUIRE(f.build_error().message() ==
          "layer sha256:layer0: \"" + deep.substr(0, 64) + "...\": path longer than 4095 bytes");
}

TEST_CASE("flatten: large xattrs go to an xattr block, freed again on a whiteout", "[layers]") {
  Fixture f;
  TarBuilder l0, l1;
  std::string big(2000, 'v');
  l0.file("keep", "k", {.xattrs = {{"user.big", big}}}).file("gone", "g", {.xattrs = {{"user.big", big}}});
  l1.whiteout("gone");
  f.add(l0);
  f.add(l1);
  f.build();
  auto im = f.open();
  REQUIRE(im->stat("/keep").xattrs.at(0).value == big);
  REQUIRE_FALSE(im->exists("/gone"));
  REQUIRE(test::debugfs(f.image, "stat /keep").find("File ACL: 0") == std::string::npos);
}

TEST_CASE("flatten: hard links cannot reach out of the image or through a symlink", "[layers]") {
  // The breakout cases of moby's and containerd's archive tests, for links.
  Fixture f;
  TarBuilder l0;
  l0.hardlink("h", "../victim/hello");
  f.add(l0);
  REQUIRE(f.build_error().message() ==
          "layer sha256:layer0: \"../victim/hello\": path leaves the image root");
  Fixture g;
  TarBuilder m0;
  m0.dir("etc").file("etc/passwd", "root").symlink("s", "/etc").hardlink("h", "s/passwd");
  g.add(m0);
  REQUIRE(g.build_error().message() == "layer sha256:layer0: /h: hard link target /s/passwd does not exist");
  // A link to a symlink is a link to the symlink itself, as link(2) makes it.
  Fixture k;
  TarBuilder n0;
  n0.symlink("up", "../../../victim").hardlink("up2", "up");
  k.add(n0);
  k.build();
  auto im = k.open();
  REQUIRE(im->stat("/up2").type == ext4::FileType::symlink);
  REQUIRE(im->stat("/up2").target == "../../../victim");
  REQUIRE(im->stat("/up").nlink == 2);
}

// Hostile layers (threat model: tests/README.md). Each reproduces the attack.

namespace {

std::string gzip_with_bad_crc(TarBuilder& t) {
  std::string gz = t.finish(TarBuilder::gzip);
  gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 0xff);  // the trailer's CRC-32
  return gz;
}

// A zstd frame whose header claims `claimed` bytes of content while its
// blocks hold `tar`: the original frame's blocks under a new header
// (8-byte Frame_Content_Size, a 1 MiB window).
std::string zstd_claiming(const std::string& tar, uint64_t claimed) {
  std::string frame = [&] {
    std::string out(ZSTD_compressBound(tar.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), tar.data(), tar.size(), 3);
    out.resize(n);
    return out;
  }();
  unsigned char fhd = static_cast<unsigned char>(frame[4]);
  bool single = (fhd >> 5) & 1;
  static const int kDict[] = {0, 1, 2, 4};
  static const int kFcs[] = {0, 2, 4, 8};
  int fcs = (fhd >> 6) == 0 ? (single ? 1 : 0) : kFcs[fhd >> 6];
  size_t header = 5 + (single ? 0 : 1) + kDict[fhd & 3] + fcs;
  std::string out = frame.substr(0, 4);
  out += static_cast<char>(0xc0 | (fhd & 0x04));  // FCS 8 bytes, not single segment, same checksum flag
  out += static_cast<char>(10 << 3);              // window 2^20
  for (int i = 0; i < 8; i++) out += static_cast<char>((claimed >> (8 * i)) & 0xff);
  return out + frame.substr(header);
}

}  // namespace

TEST_CASE("flatten hostile: a gzip member with a bad CRC is refused", "[layers][hostile]") {
  Fixture f;
  TarBuilder l0;
  l0.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  fs::write_file(f.dir + "/crc", gzip_with_bad_crc(l0));
  f.layers.push_back(layers::Layer{f.dir + "/crc", -1, layers::Compression::detect, "sha256:crc"});
  auto e = f.build_error();
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() ==
        "layer sha256:crc: reading: gzip: incorrect data check (the CRC-32 of the data does not match)");
  CHECK(e.hint() == "the layer is corrupt or truncated; pull it again");
}

TEST_CASE("flatten hostile: a tar without its end blocks is refused", "[layers][hostile]") {
  for (auto c : {TarBuilder::none, TarBuilder::gzip}) {
    Fixture f;
    TarBuilder l0;
    l0.file("a", "complete").file("b", std::string(4096, 'b'));
    std::string tar = l0.finish(TarBuilder::none);
    REQUIRE(tar.substr(tar.size() - 1024) == std::string(1024, '\0'));
    tar.resize(tar.size() - 1024);  // cut at the last entry's end: a block boundary
    std::string bytes = tar;
    if (c == TarBuilder::gzip) {
      // Recompress the cut tar as one valid gzip member.
      std::string gz(compressBound(tar.size()) + 64, '\0');
      z_stream z{};
      deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      z.next_in = reinterpret_cast<Bytef*>(tar.data());
      z.avail_in = static_cast<uInt>(tar.size());
      z.next_out = reinterpret_cast<Bytef*>(gz.data());
      z.avail_out = static_cast<uInt>(gz.size());
      REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
      gz.resize(z.total_out);
      deflateEnd(&z);
      bytes = gz;
    }
    fs::write_file(f.dir + "/cut", bytes);
    f.layers.push_back(layers::Layer{f.dir + "/cut", -1, layers::Compression::detect, "sha256:cut"});
    auto e = f.build_error();
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "layer sha256:cut: the tar ends without its end-of-archive blocks (truncated)");
  }
}

TEST_CASE("flatten hostile: a layer whose content does not match the config's diff_id is refused",
          "[layers][hostile]") {
  for (auto c : {TarBuilder::gzip, TarBuilder::zstd, TarBuilder::none}) {
    Fixture f;
    TarBuilder l0, same;
    l0.file("bin/sh", "evil");
    same.file("bin/sh", "evil");
    std::string tar = same.finish(TarBuilder::none);
    f.add(l0, c);
    f.layers[0].diff_id = sha256_digest(tar);
    f.build();  // the promised content: accepted
    std::string other = sha256_digest("the reviewed layer");
    f.layers[0].diff_id = other;
    auto e = f.build_error();
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "layer sha256:layer0: its uncompressed content is " + sha256_digest(tar) +
                             ", but the image config's diff_id says " + other);
    CHECK(e.hint() ==
          "the image's layers do not match its config (corrupt or tampered with); nothing was published");
  }
}

TEST_CASE("flatten hostile: a sparse file keeps its holes in the image", "[layers][hostile]") {
  Fixture f;
  TarBuilder l0;
  const int64_t size = 3LL << 30;  // 3 GiB, almost all hole
  l0.sparse("var/sparse", size, {{8192, std::string(5000, 'a')}, {size - 4096, std::string(4096, 'z')}});
  f.add(l0);
  auto stats = f.build(std::nullopt);
  struct stat st {};
  REQUIRE(::stat(f.image.c_str(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_blocks) * 512 < 64 * ext4::kMiB);  // disk really used by the image
  CHECK(stats.fs.content_bytes < ext4::kMiB);
  auto im = f.open();
  CHECK(im->stat("/var/sparse").size == static_cast<uint64_t>(size));
  CHECK(test::debugfs(f.image, "stat /var/sparse").find("Blockcount: 24") != std::string::npos);  // 3 blocks
  std::string dump = test::debugfs(f.image, "dump_extents /var/sparse");
  INFO(dump);
  CHECK(dump.find("2 -      3") != std::string::npos);       // blocks 2-3 hold 8192..13191
  CHECK(dump.find("786431 - 786431") != std::string::npos);  // the last block; nothing between
  // The data where the map put it: the physical blocks of the two extents.
  auto pblk = [&](const std::string& logical) {
    std::string rest = dump.substr(dump.find(logical) + logical.size());
    return std::stoull(rest.substr(rest.find_first_not_of(' ')));
  };
  int fd = ::open(f.image.c_str(), O_RDONLY);
  auto block = [&](uint64_t b) {
    std::string out(4096, '\0');
    REQUIRE(::pread(fd, out.data(), out.size(), static_cast<off_t>(b * 4096)) == 4096);
    return out;
  };
  uint64_t first = pblk("2 -      3   ");
  CHECK(block(first) == std::string(4096, 'a'));
  CHECK(block(first + 1) == std::string(904, 'a') + std::string(3192, '\0'));
  CHECK(block(pblk("786431 - 786431   ")) == std::string(4096, 'z'));
  ::close(fd);
}

TEST_CASE("flatten hostile: a zstd frame claiming a huge size does not size the image", "[layers][hostile]") {
  Fixture f;
  TarBuilder l0;
  l0.file("a", "small");
  fs::write_file(f.dir + "/liar", zstd_claiming(l0.finish(TarBuilder::none), 8ULL << 40));  // 8 TiB
  f.layers.push_back(layers::Layer{f.dir + "/liar", -1, layers::Compression::detect, "sha256:liar"});
  CHECK(layers::uncompressed_size(f.layers[0]) == 8ULL << 40);     // what the header claims
  CHECK(layers::initial_image_size(f.layers) == 64 * ext4::kGiB);  // what banger starts with at most
  auto e = f.build_error(std::nullopt);
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message().rfind("layer sha256:liar: reading", 0) == 0);
  CHECK(e.message().find("zstd: ") != std::string::npos);
}

TEST_CASE("flatten hostile: out-of-range ids and device numbers are refused, not wrapped",
          "[layers][hostile]") {
  struct Case {
    std::function<void(TarBuilder&)> add;
    std::string message;
  };
  std::vector<Case> cases = {
      {[](TarBuilder& t) { t.file("f", "x", {.gid = 1LL << 32}); },
       "layer sha256:layer0: /f: gid 4294967296 is out of range (0 to 4294967295)"},
      {[](TarBuilder& t) { t.file("f", "x", {.uid = (1LL << 32) + 5}); },
       "layer sha256:layer0: /f: uid 4294967301 is out of range (0 to 4294967295)"},
      {[](TarBuilder& t) { t.device("dev/big", false, 4096, 1); },
       "layer sha256:layer0: /dev/big: device 4096:1 is out of range (major up to 4095, minor up to "
       "1048575)"},
      {[](TarBuilder& t) { t.device("dev/big", true, 1, 1 << 20); },
       "layer sha256:layer0: /dev/big: device 1:1048576 is out of range (major up to 4095, minor up to "
       "1048575)"},
  };
  for (const auto& c : cases) {
    Fixture f;
    TarBuilder l0;
    c.add(l0);
    f.add(l0);
    auto e = f.build_error();
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == c.message);
  }
  Fixture ok;
  TarBuilder edge;
  edge.file("f", "x", {.uid = 4294967295LL, .gid = 4294967295LL}).device("dev/edge", false, 4095, 1048575);
  ok.add(edge);
  ok.build();
  auto im = ok.open();
  CHECK(im->stat("/f").gid == 4294967295u);
}

TEST_CASE("flatten hostile: a 1 MB pax path is refused, not replaced by the ustar name",
          "[layers][hostile]") {
  // libarchive drops a pax header over its limits with a warning and goes
  // on with the entry's ustar name; banger takes any such warning as an error.
  for (size_t size : {size_t(300) << 10, size_t(1) << 20, size_t(3) << 20}) {
    Fixture f;
    TarBuilder l0;
    std::string path;
    while (path.size() < size) path += "d/";
    path += "f";
    l0.file(path, "x");
    f.add(l0);
    auto e = f.build_error();
    INFO(size << ": " << e.message());
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message().rfind("layer sha256:layer0: ", 0) == 0);
    CHECK(e.message().find("ustar") == std::string::npos);
  }
}

TEST_CASE("flatten hostile: the default size fits 140k empty files (inodes from the entry count)",
          "[layers][hostile]") {
  Fixture f;
  TarBuilder l0;
  for (int d = 0; d < 140; d++) {
    l0.dir("d" + std::to_string(d));
    for (int i = 0; i < 1000; i++) l0.file("d" + std::to_string(d) + "/" + std::to_string(i), "");
  }
  f.add(l0);
  auto stats = f.build(std::nullopt);
  CHECK(stats.fs.files == 140000);
  CHECK(stats.fs.inodes_used >= 140140);
  auto im = f.open();
  CHECK(im->stat("/d139/999").size == 0);
}

namespace {

// A raw ustar header block (for headers libarchive's writer will not make).
std::string ustar_header(const std::string& name, size_t size, char type) {
  std::string h(512, '\0');
  auto put = [&](size_t off, size_t len, const std::string& v) {
    h.replace(off, std::min(len, v.size()), v.substr(0, len));
  };
  auto octal = [](uint64_t v, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", width - 1, static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  put(0, 100, name);
  put(100, 8, octal(0644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(size, 12));
  put(136, 12, octal(1700000000, 12));
  h[156] = type;
  put(257, 6, std::string("ustar\0", 6));
  put(263, 2, "00");
  put(148, 8, std::string(8, ' '));
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  put(148, 8, octal(sum, 7) + std::string(1, '\0'));
  return h;
}

std::string padded(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

}  // namespace

TEST_CASE("flatten hostile: a pax header libarchive drops with a warning is refused, not ignored",
          "[layers][hostile]") {
  // A malformed pax record (its length field lies) in front of an entry whose
  // ustar name differs from the pax path it claims.
  std::string pax = "5 path=etc/shadow\n";
  std::string tar = ustar_header("PaxHeader/x", pax.size(), 'x') + padded(pax) +
                    ustar_header("harmless", 1, '0') + padded("x") + std::string(1024, '\0');
  Fixture f;
  fs::write_file(f.dir + "/pax", tar);
  f.layers.push_back(layers::Layer{f.dir + "/pax", -1, layers::Compression::none, "sha256:pax"});
  auto e = f.build_error();
  INFO(e.message());
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() == "layer sha256:pax: reading: Ignoring malformed pax extended attribute");
}

namespace {

// A layer large enough (12 MiB of tar) that the next one is still
// inflating ahead while it is written.
void add_big(Fixture& f, const std::string& dir) {
  TarBuilder t;
  std::string block;
  for (uint32_t i = 0; block.size() < (1u << 20); i++) block += std::to_string(i * 2654435761u) + "\n";
  for (int i = 0; i < 12; i++) t.file(dir + "/f" + std::to_string(i), block + std::to_string(i));
  f.add(t);
}

}  // namespace

TEST_CASE("flatten: the next layer inflates ahead, yet its error surfaces only at its turn",
          "[layers][hostile]") {
  TarBuilder evil, bad;
  evil.file("../escape", "x");
  bad.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  {
    // Layer 0 fails while layer 1 (a bad CRC) inflates ahead and layer 2
    // is missing: the error is layer 0's.
    Fixture f;
    f.add(evil);
    fs::write_file(f.dir + "/crc", gzip_with_bad_crc(bad));
    f.layers.push_back(layers::Layer{f.dir + "/crc", -1, layers::Compression::detect, "sha256:crc"});
    f.layers.push_back(layers::Layer{f.dir + "/missing", -1, layers::Compression::detect, "sha256:missing"});
    auto e = f.build_error();
    CHECK(e.message().rfind("layer sha256:layer0: ", 0) == 0);
  }
  {
    // Layer 0 is written in full, then layer 1's bad CRC is the error.
    Fixture f;
    add_big(f, "big");
    fs::write_file(f.dir + "/crc", gzip_with_bad_crc(bad));
    f.layers.push_back(layers::Layer{f.dir + "/crc", -1, layers::Compression::detect, "sha256:crc"});
    f.layers.push_back(layers::Layer{f.dir + "/missing", -1, layers::Compression::detect, "sha256:missing"});
    auto e = f.build_error();
    CHECK(e.message() ==
          "layer sha256:crc: reading: gzip: incorrect data check (the CRC-32 of the data does not match)");
  }
  {
    // A layer that cannot be opened fails at its turn too, naming it.
    Fixture f;
    add_big(f, "big");
    add_big(f, "big2");
    f.layers.push_back(layers::Layer{f.dir + "/missing", -1, layers::Compression::detect, "sha256:missing"});
    auto e = f.build_error();
    CHECK(e.message().rfind("layer sha256:missing: opening " + f.dir + "/missing", 0) == 0);
  }
  {
    // And with every layer good, the result is the layers applied in order.
    Fixture f;
    add_big(f, "a");
    TarBuilder over;
    over.whiteout("a/f3").file("a/f0", "replaced");
    f.add(over);
    add_big(f, "b");
    f.build(256 * ext4::kMiB);
    auto im = f.open();
    CHECK(im->read("/a/f0") == "replaced");
    CHECK_FALSE(im->exists("/a/f3"));
    CHECK(im->stat("/b/f11").size > (1u << 20));
  }
}

TEST_CASE("flatten: Ctrl-C while the next layer inflates ahead stops both and removes the image",
          "[layers]") {
  Fixture f;
  add_big(f, "a");
  add_big(f, "b");
  add_big(f, "c");
  layers::BuildOptions o;
  o.size = 256 * ext4::kMiB;
  bool pressed = false;
  o.progress = [&](const layers::ApplyProgress& p) {
    if (p.layer == 0 && p.bytes_read > 0 && !pressed) set_interrupted(pressed = true);
  };
  try {
    layers::build_image(f.layers, f.image, o);
    FAIL("the build was not interrupted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::interrupted);
  }
  set_interrupted(false);
  CHECK(pressed);
  CHECK_FALSE(fs::exists(f.image));
}

TEST_CASE("flatten: a zstd layer written as a stream (no content size) is sized from its blocks",
          "[layers][zstd]") {
  // skopeo writes zstd layers without a frame content size: the image must
  // still start near its content, not at 64 GiB (and a resize2fs pass).
  Fixture f;
  TarBuilder l0;
  std::string block;
  for (uint32_t i = 0; block.size() < (3u << 20); i++) block += std::to_string(i * 2654435761u) + "\n";
  l0.file("data", block);
  std::string tar = l0.finish(TarBuilder::none);
  ZSTD_CCtx* c = ZSTD_createCCtx();
  std::string out(ZSTD_compressBound(tar.size()) + 1024, '\0');
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  ZSTD_inBuffer in{tar.data(), tar.size(), 0};
  ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue);  // no pledged size: no content size in the frame
  while (ZSTD_compressStream2(c, &o, &in, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(c);
  out.resize(o.pos);
  REQUIRE(ZSTD_getFrameContentSize(out.data(), out.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
  fs::write_file(f.dir + "/stream.zst", out);
  f.layers.push_back(layers::Layer{f.dir + "/stream.zst", -1, layers::Compression::detect, "sha256:stream"});
  uint64_t bound = layers::uncompressed_size(f.layers[0]);
  CHECK(bound >= tar.size());
  CHECK(bound <= tar.size() + (128u << 10) * 2);
  CHECK(layers::initial_image_size(f.layers) == ext4::kGiB);
  auto stats = f.build(std::nullopt);
  CHECK(stats.fs.image_size == ext4::kGiB);
  CHECK(f.open()->read("/data") == block);
}
