// KernelSpec{.kernel = ...} leaves the other fields empty on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/kernel/download.h"
#include "host/kernel/pull.h"
#include "tests/support/kernel_fixture.h"

using namespace banger;
using namespace banger::kernel;

namespace {

struct TempDir {
  std::string path = fs::make_temp_dir("/tmp", "banger-kernel-test");
  ~TempDir() { fs::remove_all(path); }
};

size_t count_files(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST_CASE("kernel pull: a Debian kernel package unpacks without dpkg", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  auto m = unpack_kernel_deb(k.deb, d.path);
  CHECK(m.version == k.version);
  CHECK(m.kernel == "vmlinuz");
  CHECK(m.modules == "modules/" + k.version);
  CHECK(fs::read_file(d.path + "/vmlinuz") == fs::read_file(k.kernel));
  // Same module files as dpkg-deb gave the fixture.
  CHECK(count_files(d.path + "/" + m.modules) == count_files(k.modules));
  CHECK(fs::read_file(d.path + "/" + m.modules + "/kernel/drivers/virtio/virtio.ko") ==
        fs::read_file(k.modules + "/kernel/drivers/virtio/virtio.ko"));
}

TEST_CASE("kernel pull: apt resolves the cloud metapackage to the real kernel package", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto pkg = apt_resolve_package("linux-image-cloud-amd64");
  CHECK(pkg.name == k.package);
  CHECK(pkg.version == k.package_version);
}

TEST_CASE("kernel pull: an unknown apt package is not_found with an apt-get update hint", "[kernel]") {
  TempDir d;
  try {
    pull("bogus", {{"source", "apt"}, {"package", "linux-image-no-such-kernel"}}, d.path);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message().rfind("pulling kernel bogus: kernel package linux-image-no-such-kernel "
                            "not found by apt-cache",
                            0) == 0);
    CHECK(e.hint() == "run 'apt-get update' (as root) and check that the package name exists");
  }
}

TEST_CASE("kernel pull: the apt source downloads and unpacks the cloud kernel", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  auto m = pull("debian-cloud", {{"source", "apt"}, {"package", "linux-image-cloud-amd64"}}, d.path);
  CHECK(m.name == "debian-cloud");
  CHECK(m.source == "apt");
  CHECK(m.origin == k.package);
  CHECK(m.origin_version == k.package_version);
  CHECK(m.version == k.version);
  CHECK(m.bytes > 50u << 20);
  // Nothing left behind but the kernel directory's own files.
  std::vector<std::string> entries;
  for (auto& e : std::filesystem::directory_iterator(d.path)) {
    entries.push_back(e.path().filename().string());
  }
  std::sort(entries.begin(), entries.end());
  CHECK(entries == std::vector<std::string>{"kernel.json", "modules", "vmlinuz"});
  auto t = resolve({.name = "debian-cloud", .dir = d.path});
  CHECK(t.version == k.version);
  CHECK(read_manifest(d.path).origin == k.package);
}

TEST_CASE("kernel pull: a url source is checked against its sha256 before use", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  std::string sha = sha256_file(k.deb);
  std::string url = "file://" + k.deb;
  SECTION("a matching digest unpacks the package") {
    auto m = pull("from-url", {{"source", "url"}, {"url", url}, {"sha256", sha}}, d.path);
    CHECK(m.source == "url");
    CHECK(m.version == k.version);
    CHECK(m.origin_version == sha);
  }
  SECTION("a wrong digest is refused and nothing is unpacked") {
    std::string wrong(64, '0');
    try {
      pull("from-url", {{"source", "url"}, {"url", url}, {"sha256", wrong}}, d.path);
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_input);
      CHECK(e.message() == "pulling kernel from-url: kernel archive " + url + ": sha256 mismatch: expected " +
                               wrong + ", got " + sha);
    }
    CHECK(!fs::exists(d.path + "/vmlinuz"));
    CHECK(std::filesystem::is_empty(d.path));
  }
  SECTION("a tar archive with vmlinuz and lib/modules works too") {
    TempDir src;
    // A few modules are enough (copying all 90 MB makes the test slow).
    std::string mods = src.path + "/lib/modules/" + k.version;
    std::filesystem::create_directories(mods + "/kernel/drivers");
    std::filesystem::copy(k.modules + "/kernel/drivers/virtio", mods + "/kernel/drivers/virtio",
                          std::filesystem::copy_options::recursive);
    std::filesystem::copy_file(k.modules + "/modules.builtin", mods + "/modules.builtin");
    std::filesystem::copy_file(k.kernel, src.path + "/vmlinuz-" + k.version);
    std::string tar = src.path + "/kernel.tar.gz";
    run_checked({"tar", "-C", src.path, "-czf", tar, "vmlinuz-" + k.version, "lib"}, "tar");
    auto m =
        pull("tarball", {{"source", "url"}, {"url", "file://" + tar}, {"sha256", sha256_file(tar)}}, d.path);
    CHECK(m.version == k.version);
    CHECK(m.modules == "modules/" + k.version);
    CHECK(resolve({.dir = d.path}).modules == d.path + "/modules/" + k.version);
    CHECK(fs::exists(d.path + "/modules/" + k.version + "/kernel/drivers/virtio/virtio_mmio.ko"));
  }
}

TEST_CASE("kernel import: copies a kernel and its modules after checking them", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  TempDir initrd;
  fs::write_file(initrd.path + "/initrd.img", "not really an initrd");
  auto m = import_kernel("mine", {k.kernel, initrd.path + "/initrd.img", k.modules}, d.path);
  CHECK(m.source == "local");
  CHECK(m.initrd == "initrd.img");
  CHECK(m.modules == "modules/" + k.version);
  auto t = resolve({.name = "mine", .dir = d.path});
  CHECK(t.initrd == d.path + "/initrd.img");
  CHECK(t.version == k.version);
  try {
    import_kernel("mine", {"/nonexistent/vmlinuz"}, d.path);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.message() == "importing kernel mine: kernel image not found: /nonexistent/vmlinuz");
  }
}

TEST_CASE("kernel pull: archive entries outside the kernel directory are refused", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir src;
  TempDir d;
  std::string tar = src.path + "/evil.tar";
  // python3's tarfile writes the names tar itself refuses to create.
  std::string script =
      "import tarfile, sys\n"
      "t = tarfile.open(sys.argv[1], 'w')\n"
      "t.add(sys.argv[2], arcname='vmlinuz')\n"
      "i = tarfile.TarInfo('lib/modules/" +
      k.version +
      "/build'); i.type = tarfile.SYMTYPE; i.linkname = '/'\n"
      "t.addfile(i)\n"
      "i = tarfile.TarInfo('lib/modules/" +
      k.version +
      "/../../../../evil'); i.size = 0\n"
      "t.addfile(i)\n"
      "t.close()\n";
  run_checked({"python3", "-c", script, tar, k.kernel}, "making the test archive");
  try {
    pull("evil", {{"source", "url"}, {"url", "file://" + tar}, {"sha256", sha256_file(tar)}}, d.path);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "pulling kernel evil: file://" + tar + ": unsafe path in archive: lib/modules/" +
                             k.version + "/../../../../evil");
  }
  CHECK(!fs::exists(d.path + "/../evil"));
  CHECK(!std::filesystem::is_symlink(d.path + "/modules/" + k.version + "/build"));
}
