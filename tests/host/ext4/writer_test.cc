#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/ext4/editor.h"
#include "host/ext4/writer.h"
#include "tests/support/ext4_dump.h"

using namespace banger;
using namespace banger::ext4;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    path = banger::fs::make_temp_dir(std::filesystem::temp_directory_path().string(), "ext4-test-");
  }
  ~TempDir() { banger::fs::remove_all(path); }
};

Meta meta(FileType t, uint32_t mode, uint32_t uid = 0, uint32_t gid = 0) {
  Meta m;
  m.type = t;
  m.mode = mode;
  m.uid = uid;
  m.gid = gid;
  m.mtime = m.atime = m.ctime = Timespec{1700000000, 123456789};
  return m;
}

void add_file(Writer& w, const std::string& path, const std::string& data, uint32_t mode = 0644,
              uint32_t uid = 0, uint32_t gid = 0) {
  w.begin_file(path, meta(FileType::regular, mode, uid, gid), data.size());
  w.write(data.data(), data.size());
  w.end_file();
}

void require_clean(const std::string& image) {
  auto r = test::e2fsck(image);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("ext4 writer: files, dirs, symlinks and devices read back exactly", "[ext4]") {
  TempDir t;
  std::string img = t.path + "/a.ext4";
  {
    Writer w(img, WriterOptions{});
    w.mkdir("etc", meta(FileType::directory, 0755));
    add_file(w, "etc/hosts", "127.0.0.1 localhost\n");
    add_file(w, "usr/bin/tool", std::string(100000, 'x'), 04755, 1000, 2000);
    w.symlink("bin", meta(FileType::symlink, 0777), "usr/bin");
    w.symlink("long", meta(FileType::symlink, 0777), std::string(200, 'a'));
    auto dev = meta(FileType::char_device, 0666);
    dev.dev_major = 1, dev.dev_minor = 3;
    w.mknod("dev/null", dev);
    auto big = meta(FileType::block_device, 0660);
    big.dev_major = 259, big.dev_minor = 300;
    w.mknod("dev/nvme", big);
    w.mknod("run/fifo", meta(FileType::fifo, 0600));
    w.mkdir("tmp", meta(FileType::directory, 01777));
    auto stats = w.finish();
    REQUIRE(stats.files == 2);
    REQUIRE(stats.data_bytes == 100000 + 20);
  }
  require_clean(img);
  auto im = Editor::open(img, false);
  REQUIRE(im->read("/etc/hosts") == "127.0.0.1 localhost\n");
  auto st = im->stat("/usr/bin/tool");
  REQUIRE(st.mode == 04755);
  REQUIRE(st.uid == 1000);
  REQUIRE(st.gid == 2000);
  REQUIRE(st.size == 100000);
  REQUIRE(st.mtime == Timespec{1700000000, 123456789});
  REQUIRE(im->read("/usr/bin/tool") == std::string(100000, 'x'));
  REQUIRE(im->stat("/bin").target == "usr/bin");
  REQUIRE(im->stat("/long").target == std::string(200, 'a'));
  auto null = im->stat("/dev/null");
  REQUIRE(null.type == FileType::char_device);
  REQUIRE(null.dev_major == 1);
  REQUIRE(null.dev_minor == 3);
  auto nvme = im->stat("/dev/nvme");
  REQUIRE(nvme.type == FileType::block_device);
  REQUIRE(nvme.dev_major == 259);
  REQUIRE(nvme.dev_minor == 300);
  REQUIRE(im->stat("/run/fifo").type == FileType::fifo);
  REQUIRE(im->stat("/tmp").mode == 01777);
  // debugfs, the independent reader, agrees.
  REQUIRE(test::debugfs(img, "cat /etc/hosts") == "127.0.0.1 localhost\n");
  auto ds = test::debugfs(img, "stat /usr/bin/tool");
  INFO(ds);
  REQUIRE(ds.find("Mode:  04755") != std::string::npos);
  REQUIRE(ds.find("User:  1000   Group:  2000") != std::string::npos);
}

TEST_CASE("ext4 writer: fragmented files get a full extent tree", "[ext4]") {
  TempDir t;
  std::string img = t.path + "/frag.ext4";
  std::string data;
  for (int i = 0; i < 3000000; ++i) data += static_cast<char>('a' + i % 23);
  {
    WriterOptions o;
    o.size = 64 * kMiB;
    o.max_extent_len = 16;  // 64 KiB extents: ~46 of them, more than the inode holds
    Writer w(img, o);
    add_file(w, "frag", data);
    w.finish();
  }
  require_clean(img);
  auto im = Editor::open(img, false);
  REQUIRE(im->read("/frag") == data);
  REQUIRE(test::debugfs(img, "dump_extents /frag").find("Level Entries") != std::string::npos);
}

TEST_CASE("ext4 writer: without metadata_csum and journal the image is valid too", "[ext4]") {
  TempDir t;
  std::string img = t.path + "/plain.ext4";
  {
    WriterOptions o;
    o.size = 32 * kMiB;
    o.metadata_csum = false;
    o.journal = false;
    Writer w(img, o);
    for (int i = 0; i < 500; ++i) add_file(w, "d/f" + std::to_string(i), std::to_string(i));
    w.finish();
  }
  require_clean(img);
  REQUIRE(Editor::open(img, false)->read("/d/f499") == "499");
}

TEST_CASE("ext4 writer: replaced and removed entries free their blocks and inodes", "[ext4]") {
  TempDir t;
  std::string img = t.path + "/reuse.ext4";
  {
    WriterOptions o;
    o.size = 32 * kMiB;
    Writer w(img, o);
    // 10 x 8 MiB through a 32 MiB image only fits if replaced files are freed.
    for (int i = 0; i < 10; ++i) add_file(w, "big", std::string(8 << 20, static_cast<char>('0' + i)));
    w.mkdir("tree", meta(FileType::directory, 0755));
    for (int i = 0; i < 100; ++i) add_file(w, "tree/f" + std::to_string(i), "x");
    REQUIRE(w.remove("tree"));
    REQUIRE_FALSE(w.remove("tree"));
    w.finish();
  }
  require_clean(img);
  auto im = Editor::open(img, false);
  REQUIRE(im->read("/big") == std::string(8 << 20, '9'));
  REQUIRE_FALSE(im->exists("/tree"));
}

TEST_CASE("ext4 writer: an image too small fails with a clear error", "[ext4]") {
  TempDir t;
  std::string img = t.path + "/small.ext4";
  WriterOptions o;
  o.size = 16 * kMiB;
  Writer w(img, o);
  add_file(w, "a", "fits");
  try {
    add_file(w, "usr/lib/x", std::string(20 << 20, 'x'));
    FAIL("no error");
  } catch (const Error& e) {
    REQUIRE(e.message() == "image full: writing /usr/lib/x: needs a larger --size");
    REQUIRE(e.hint() == "the image is 16 MiB; give a larger size (or leave it out for the default)");
  }
}

TEST_CASE("ext4 writer: no room left for the journal is the same clear error", "[ext4]") {
  TempDir t;
  std::string img = t.path + "/nojournal.ext4";
  WriterOptions o;
  o.size = 64 * kMiB;
  Writer w(img, o);
  add_file(w, "fill", std::string(60 << 20, 'x'));
  try {
    w.finish();
    FAIL("no error");
  } catch (const Error& e) {
    REQUIRE(e.message() == "image full: writing the journal: needs a larger --size");
  }
}

TEST_CASE("ext4 writer: after an error every call fails (sticky error)", "[ext4]") {
  TempDir t;
  std::string img = t.path + "/sticky.ext4";
  Writer w(img, WriterOptions{.size = 16 * kMiB});
  w.symlink("link", meta(FileType::symlink, 0777), "/etc");
  REQUIRE_THROWS(add_file(w, "link/x", "x"));
  try {
    w.mkdir("fine", meta(FileType::directory, 0755));
    FAIL("no error");
  } catch (const Error& e) {
    REQUIRE(e.message() == "ext4 writer: an earlier error left " + img + " unusable");
  }
}
