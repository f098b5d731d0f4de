#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/ext4/editor.h"
#include "host/ext4/writer.h"
#include "tests/support/error_text.h"
#include "tests/support/ext4_dump.h"

using namespace banger;
using namespace banger::ext4;

namespace {

struct Img {
  std::string dir;
  std::string path;
  Img() {
    dir = fs::make_temp_dir(std::filesystem::temp_directory_path().string(), "ext4-image-");
    path = dir + "/img.ext4";
    Writer w(path, WriterOptions{.size = 64 * kMiB});
    Meta d;
    d.type = FileType::directory;
    d.mode = 0755;
    w.mkdir("etc", d);
    Meta f;
    f.mode = 0644;
    std::string data = "target file\n";
    w.begin_file("etc/target", f, data.size());
    w.write(data.data(), data.size());
    w.end_file();
    w.link("etc/hard", "etc/target");
    Meta l;
    l.type = FileType::symlink;
    w.symlink("link", l, "/etc/target");
    w.symlink("bin", l, "usr/bin");
    w.symlink("esc", l, "../../..");
    w.mkdir("usr/bin", d);
    w.mkdir("big", d);
    for (int i = 0; i < 3000; ++i) {
      w.begin_file("big/f" + std::to_string(i), f, 0);
      w.end_file();
    }
    w.finish();
  }
  ~Img() { fs::remove_all(dir); }
  void require_clean() {
    auto r = test::e2fsck(path);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
};

}  // namespace

TEST_CASE("ext4 image: write creates a file that debugfs reads back", "[ext4]") {
  Img t;
  {
    auto im = Editor::open(t.path, true);
    std::string big(300000, 'z');
    im->write("/etc/hostname", "sandbox\n", 0600, Owner{10, 20});
    im->write("/etc/big", big, 0644);
    REQUIRE(im->read("/etc/hostname") == "sandbox\n");
    im->close();
  }
  t.require_clean();
  auto im = Editor::open(t.path, false);
  auto st = im->stat("/etc/hostname");
  REQUIRE((st.mode == 0600 && st.uid == 10 && st.gid == 20 && st.size == 8));
  REQUIRE(im->read("/etc/big") == std::string(300000, 'z'));
  REQUIRE(test::debugfs(t.path, "cat /etc/hostname") == "sandbox\n");
}

TEST_CASE("ext4 image: write replaces a symlink instead of following it", "[ext4]") {
  Img t;
  {
    auto im = Editor::open(t.path, true);
    im->write("/link", "replaced\n", 0644);
    im->close();
  }
  t.require_clean();
  auto im = Editor::open(t.path, false);
  REQUIRE(im->stat("/link").type == FileType::regular);
  REQUIRE(im->read("/link") == "replaced\n");
  REQUIRE(im->read("/etc/target") == "target file\n");
  REQUIRE(test::error_message([&] { im->read("/bin"); }) == t.path + ": /bin: is a symlink");
}

TEST_CASE("ext4 image: intermediate symlinks resolve inside the image only", "[ext4]") {
  Img t;
  {
    auto im = Editor::open(t.path, true);
    im->write("/bin/tool", "tool", 0755);
    // "esc" -> "../../..": climbing stops at the image root.
    im->write("/esc/etc/escaped", "inside", 0644);
    im->close();
  }
  t.require_clean();
  auto im = Editor::open(t.path, false);
  REQUIRE(im->read("/usr/bin/tool") == "tool");
  REQUIRE(im->read("/etc/escaped") == "inside");
  REQUIRE(im->stat("/bin").type == FileType::symlink);
}

TEST_CASE("ext4 image: replacing one name of a hard link keeps the other", "[ext4]") {
  Img t;
  {
    auto im = Editor::open(t.path, true);
    REQUIRE(im->stat("/etc/hard").nlink == 2);
    im->write("/etc/hard", "new", 0644);
    im->close();
  }
  t.require_clean();
  auto im = Editor::open(t.path, false);
  REQUIRE(im->read("/etc/target") == "target file\n");
  REQUIRE(im->stat("/etc/target").nlink == 1);
  REQUIRE(im->read("/etc/hard") == "new");
}

TEST_CASE("ext4 image: mkdir, symlink, chmod, chown and rm", "[ext4]") {
  Img t;
  {
    auto im = Editor::open(t.path, true);
    im->mkdir("/opt/a/b", 0750, Owner{5, 6}, true);
    im->symlink("/opt/a/l", "b", Owner{7, 8});
    im->write("/opt/a/b/f", "f", 0644);
    im->chmod("/opt/a/b/f", 04711);
    im->chown("/opt/a/b/f", Owner{100000, 100001});
    REQUIRE(test::error_message([&] { im->rm("/opt/a"); }) == t.path + ": /opt/a: directory not empty");
    REQUIRE(test::error_message([&] { im->mkdir("/opt/a", 0755); }) == t.path + ": /opt/a: already exists");
    REQUIRE(test::error_message([&] { im->rm("/nope"); }) == t.path + ": /nope: no such file or directory");
    im->rm("/etc/target");
    im->rm("/big", true);
    im->close();
  }
  t.require_clean();
  auto im = Editor::open(t.path, false);
  auto b = im->stat("/opt/a/b");
  REQUIRE((b.type == FileType::directory && b.mode == 0750 && b.uid == 5 && b.gid == 6));
  auto l = im->stat("/opt/a/l");
  REQUIRE((l.target == "b" && l.uid == 7 && l.gid == 8));
  auto f = im->stat("/opt/a/b/f");
  REQUIRE((f.mode == 04711 && f.uid == 100000 && f.gid == 100001));
  REQUIRE(im->read("/opt/a/l/f") == "f");
  REQUIRE_FALSE(im->exists("/etc/target"));
  REQUIRE(im->stat("/etc/hard").nlink == 1);
  REQUIRE_FALSE(im->exists("/big"));
}

TEST_CASE("ext4 image: adding to a large hashed directory keeps it valid", "[ext4]") {
  Img t;
  {
    auto im = Editor::open(t.path, true);
    for (int i = 0; i < 200; ++i) im->write("/big/new" + std::to_string(i), "n", 0644);
    im->close();
  }
  t.require_clean();
  auto im = Editor::open(t.path, false);
  REQUIRE(im->ls("/big").size() == 3200);
  REQUIRE(im->read("/big/new199") == "n");
}

TEST_CASE("ext4 image: a read-only image refuses edits - bad paths are clear errors", "[ext4]") {
  Img t;
  auto im = Editor::open(t.path, false);
  REQUIRE(test::error_message([&] { im->write("/x", "x", 0644); }) ==
          t.path + ": /x: the image is open read-only");
  REQUIRE(test::error_message([&] { im->stat("/etc/nope"); }) ==
          t.path + ": /etc/nope: no such file or directory");
  REQUIRE(test::error_message([&] { im->ls("/etc/target"); }) == t.path + ": /etc/target: not a directory");
  REQUIRE(test::error_message([] { Editor::open("/nonexistent.ext4", false); }) ==
          "/nonexistent.ext4: no such image");
  fs::write_file(t.dir + "/junk", std::string(1 << 20, 'j'));
  REQUIRE(test::error_message([&] {
            Editor::open(t.dir + "/junk", false);
          }).rfind(t.dir + "/junk: not an ext4 image: ", 0) == 0);
}

TEST_CASE("ext4 image: writing more than fits fails and leaves no partial file", "[ext4]") {
  Img t;
  {
    auto im = Editor::open(t.path, true);
    std::string huge(80 << 20, 'h');
    REQUIRE(test::error_message([&] { im->write("/etc/huge", huge, 0644); }) ==
            t.path + ": /etc/huge: image full");
    REQUIRE_FALSE(im->exists("/etc/huge"));
    im->write("/etc/small", "still works", 0644);
    im->close();
  }
  t.require_clean();
  REQUIRE(Editor::open(t.path, false)->read("/etc/small") == "still works");
}
