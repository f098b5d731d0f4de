#include <archive.h>
#include <archive_entry.h>
#include <catch2/catch.hpp>

#include <map>
#include <sstream>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/kernel/initramfs.h"
#include "tests/support/kernel_fixture.h"

using namespace banger;
using namespace banger::kernel;

namespace {

struct TempDir {
  std::string path = fs::make_temp_dir("/tmp", "banger-initramfs-test");
  ~TempDir() { fs::remove_all(path); }
};

struct Entry {
  std::string path;
  int mode;
  std::string data;
  long long mtime;
  unsigned rdev_major, rdev_minor;
};

// Reads an initramfs back with libarchive, in archive order.
std::vector<Entry> read_back(const std::string& path) {
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_cpio(a);
  REQUIRE(archive_read_open_filename(a, path.c_str(), 65536) == ARCHIVE_OK);
  std::vector<Entry> out;
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Entry x{archive_entry_pathname(e),
            int(archive_entry_mode(e)),
            {},
            archive_entry_mtime(e),
            static_cast<unsigned>(archive_entry_rdevmajor(e)),
            static_cast<unsigned>(archive_entry_rdevminor(e))};
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) x.data.append(buf, size_t(n));
    out.push_back(std::move(x));
  }
  CHECK(archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE);
  archive_read_free(a);
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("initramfs: holds /init, the modules and their load order list", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  std::string compression = GENERATE("zstd", "gzip");
  InitramfsOptions o;
  o.init = "/bin/true";
  o.modules_dir = k.modules;
  o.out = d.path + "/initrd.img";
  o.compression = compression;
  auto r = build_initramfs(o);
  CHECK(r.version == k.version);
  CHECK(r.bytes < 4u << 20);  // "a few MB" at most
  INFO("initramfs (" << compression << "): " << r.bytes << " bytes, " << r.content_bytes << " uncompressed, "
                     << r.modules.size() << " modules");

  auto entries = read_back(o.out);
  std::map<std::string, Entry> by_path;
  for (auto& e : entries) by_path[e.path] = e;
  REQUIRE(by_path.count("init"));
  CHECK((by_path["init"].mode & 07777) == 0755);
  CHECK(by_path["init"].data == fs::read_file("/bin/true"));
  REQUIRE(by_path.count("dev/console"));
  CHECK(by_path["dev/console"].rdev_major == 5);
  CHECK(by_path["dev/console"].rdev_minor == 1);
  for (auto& e : entries) CHECK(e.mtime == 0);

  auto list = lines(by_path["etc/banger/modules"].data);
  REQUIRE(list.size() == r.modules.size());
  CHECK(list.front() == "/lib/modules/" + k.version + "/kernel/drivers/virtio/virtio_ring.ko");
  for (size_t i = 0; i < list.size(); ++i) {
    INFO(list[i]);
    CHECK(list[i] == "/lib/modules/" + k.version + "/" + r.modules[i].path);
    REQUIRE(by_path.count(list[i].substr(1)));
    CHECK(by_path[list[i].substr(1)].data == fs::read_file(k.modules + "/" + r.modules[i].path));
  }
  CHECK(by_path["etc/banger/kernel-version"].data == k.version + "\n");
  // Parents come before their children (the kernel's unpacker needs that).
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < entries.size(); ++i) index[entries[i].path] = i;
  for (auto& e : entries) {
    auto slash = e.path.rfind('/');
    if (slash == std::string::npos) continue;
    REQUIRE(index.count(e.path.substr(0, slash)));
    CHECK(index[e.path.substr(0, slash)] < index[e.path]);
  }
}

TEST_CASE("initramfs: the same inputs give the same bytes", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  for (std::string compression : {"zstd", "gzip"}) {
    InitramfsOptions o;
    o.init = "/bin/true";
    o.modules_dir = k.modules;
    o.compression = compression;
    o.out = d.path + "/a";
    build_initramfs(o);
    o.out = d.path + "/b";
    build_initramfs(o);
    CHECK(fs::read_file(d.path + "/a") == fs::read_file(d.path + "/b"));
  }
}

TEST_CASE("initramfs: compressed modules are stored decompressed as .ko", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  std::string mods = d.path + "/lib/modules/" + k.version;
  fs::make_dirs(mods + "/kernel", 0755);
  for (const char* m : {"virtio_ring", "virtio", "virtio_mmio"}) {
    std::string src = k.modules + "/kernel/drivers/virtio/" + m + ".ko";
    fs::write_file(mods + "/kernel/" + m + ".ko.xz", run_checked({"xz", "-c", src}, "xz"));
  }
  InitramfsOptions o;
  o.init = "/bin/true";
  o.modules_dir = mods;
  o.modules = {"virtio_mmio"};
  o.optional_modules = {};
  o.out = d.path + "/initrd.img";
  auto r = build_initramfs(o);
  REQUIRE(r.modules.size() == 3);
  auto entries = read_back(o.out);
  std::string list;
  for (auto& e : entries) {
    if (e.path == "etc/banger/modules") list = e.data;
    if (e.path == "lib/modules/" + k.version + "/kernel/virtio.ko") {
      CHECK(e.data == fs::read_file(k.modules + "/kernel/drivers/virtio/virtio.ko"));
    }
  }
  std::string base = "/lib/modules/" + k.version + "/kernel/";
  CHECK(list == base + "virtio_ring.ko\n" + base + "virtio.ko\n" + base + "virtio_mmio.ko\n");
}

TEST_CASE("initramfs: a missing init binary or an unknown compression is a clear error", "[kernel]") {
  TempDir d;
  InitramfsOptions o;
  o.init = d.path + "/banger-agent";
  o.out = d.path + "/initrd.img";
  try {
    build_initramfs(o);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "initramfs: init binary not found: " + d.path + "/banger-agent");
  }
  o.init = "/bin/true";
  o.compression = "lzma";
  try {
    build_initramfs(o);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "unknown initramfs compression: lzma");
  }
  CHECK(!fs::exists(o.out));
}
