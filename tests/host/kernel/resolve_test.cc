// KernelSpec{.kernel = ...} leaves the other fields empty on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/kernel/bzimage.h"
#include "host/kernel/resolve.h"
#include "tests/support/kernel_fixture.h"

using namespace banger;
using namespace banger::kernel;

namespace {

struct TempDir {
  std::string path = fs::make_temp_dir("/tmp", "banger-kernel-test");
  ~TempDir() { fs::remove_all(path); }
};

Error resolve_error(const KernelSpec& spec) {
  try {
    resolve(spec);
  } catch (const Error& e) {
    return e;
  }
  FAIL("resolve did not fail");
  throw;
}

}  // namespace

TEST_CASE("kernel resolve: the Debian cloud kernel resolves to a checked triple", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto t = resolve({.name = "debian-cloud", .dir = k.dir});
  CHECK(t.kernel == k.dir + "/vmlinuz");
  CHECK(t.initrd.empty());
  CHECK(t.modules == k.modules);
  CHECK(t.version == k.version);
  CHECK(t.banner.find("Debian") != std::string::npos);
}

TEST_CASE("kernel resolve: modules given as lib/modules find the version subdirectory", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto t = resolve({.kernel = k.kernel, .modules = k.dir + "/modules"});
  CHECK(t.modules == k.modules);
}

TEST_CASE("kernel resolve: a missing kernel file of a pulled kernel says to pull it again", "[kernel]") {
  TempDir d;
  fs::write_file(d.path + "/kernel.json",
                 R"({"name": "debian-cloud", "version": "6.1", "kernel": "vmlinuz"})");
  auto e = resolve_error({.name = "debian-cloud", .dir = d.path});
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() == "kernel debian-cloud: kernel image not found: " + d.path + "/vmlinuz");
  CHECK(e.hint() == "run 'banger kernel pull debian-cloud' to fetch it again");
}

TEST_CASE("kernel resolve: a kernel that was never pulled says to pull it", "[kernel]") {
  TempDir d;
  auto e = resolve_error({.name = "debian-cloud", .dir = d.path + "/nope"});
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() == "kernel debian-cloud: kernel directory not found: " + d.path + "/nope");
  CHECK(e.hint() == "run 'banger kernel pull debian-cloud' to fetch it again");
}

TEST_CASE("kernel resolve: a missing explicit kernel path names the file and the flag", "[kernel]") {
  auto e = resolve_error({.kernel = "/nonexistent/vmlinuz"});
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() == "kernel image not found: /nonexistent/vmlinuz");
  CHECK(e.hint() == "check the path given for --kernel");
}

TEST_CASE("kernel resolve: a missing initrd or modules directory names the file", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto e = resolve_error({.kernel = k.kernel, .initrd = "/nonexistent/initrd.img"});
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() == "initrd not found: /nonexistent/initrd.img");
  CHECK(e.hint() == "check the path given for --initrd");
  e = resolve_error({.kernel = k.kernel, .modules = "/nonexistent/modules"});
  CHECK(e.message() == "kernel modules directory not found: /nonexistent/modules");
  CHECK(e.hint() == "check the path given for --modules");
}

TEST_CASE("kernel resolve: a file that is not a bzImage is a clear invalid_input error", "[kernel]") {
  TempDir d;
  std::string bad = d.path + "/vmlinuz";
  fs::write_file(bad, std::string(8192, 'x'));
  auto e = resolve_error({.kernel = bad});
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() == bad + " is not a Linux bzImage kernel (no \"HdrS\" boot header at offset 0x202)");
  CHECK(e.hint() == "pass a Linux x86-64 bzImage (such as /boot/vmlinuz-*), or pull the kernel again");
}

TEST_CASE("kernel resolve: a truncated kernel (cut-short download) is detected", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  std::string cut = d.path + "/vmlinuz";
  fs::write_file(cut, fs::read_file(k.kernel).substr(0, 1 << 20));
  auto e = resolve_error({.name = "debian-cloud", .kernel = cut});
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message().rfind("kernel debian-cloud: " + cut + " is truncated: 1048576 bytes, the header says ",
                          0) == 0);
}

TEST_CASE("kernel resolve: modules of another kernel version are refused", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  TempDir d;
  // A kernel whose banner says another version: patch the version string.
  std::string image = fs::read_file(k.kernel);
  auto at = image.find(k.version + " (");
  REQUIRE(at != std::string::npos);
  image[at] = '9';
  fs::write_file(d.path + "/vmlinuz", image);
  auto e = resolve_error({.kernel = d.path + "/vmlinuz", .modules = k.modules});
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() == "the modules in " + k.modules + " are for kernel " + k.version + ", but " + d.path +
                           "/vmlinuz is 9" + k.version.substr(1));
}

TEST_CASE("bzimage: the Debian kernel's header gives its version", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto info = inspect_bzimage(k.kernel);
  CHECK(info.version == k.version);
  CHECK(info.protocol >= 0x020c);
}
