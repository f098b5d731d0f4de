#include <catch2/catch.hpp>

#include <algorithm>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/kernel/archive.h"
#include "host/kernel/modinfo.h"
#include "tests/support/kernel_fixture.h"

using namespace banger;
using namespace banger::kernel;

namespace {

std::vector<std::string> names(const std::vector<ModuleLoad>& order) {
  std::vector<std::string> out;
  for (const auto& m : order) out.push_back(m.name);
  return out;
}

size_t pos(const std::vector<std::string>& v, const std::string& s) {
  return size_t(std::find(v.begin(), v.end(), s) - v.begin());
}

}  // namespace

TEST_CASE("modinfo: reads name, depends and vermagic of a real Debian module", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto info = read_modinfo(k.modules + "/kernel/drivers/net/virtio_net.ko");
  CHECK(info.name == "virtio_net");
  CHECK(info.depends == std::vector<std::string>{"virtio_ring", "virtio", "net_failover"});
  CHECK(info.vermagic.rfind(k.version + " ", 0) == 0);
}

TEST_CASE("modinfo: a file name with dashes gives the module name with underscores", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto index = ModuleIndex::scan(k.modules);
  REQUIRE(index.files.count("virtio_rng"));
  CHECK(index.files.at("virtio_rng") == "kernel/drivers/char/hw_random/virtio-rng.ko");
  CHECK(read_modinfo(k.modules + "/" + index.files.at("virtio_rng")).name == "virtio_rng");
  CHECK(index.builtin.count("ext4"));
  CHECK(module_name_from_file("a/b/virtio-rng.ko.zst") == "virtio_rng");
}

TEST_CASE("modinfo: softdep pre: entries are parsed", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto index = ModuleIndex::scan(k.modules);
  // Find any module with a softdep "pre:" on this kernel and check it parses.
  bool found = false;
  for (const auto& name : {"xt_LOG", "xt_NFLOG", "crc32c_generic", "ext4", "libcrc32c"}) {
    auto it = index.files.find(name);
    if (it == index.files.end()) continue;
    auto info = read_modinfo(k.modules + "/" + it->second);
    if (!info.softdep_pre.empty()) {
      found = true;
      for (const auto& dep : info.softdep_pre) CHECK(dep.find('-') == std::string::npos);
    }
  }
  CHECK(found);
}

TEST_CASE("modinfo: guest modules load with dependencies first", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto index = ModuleIndex::scan(k.modules);
  auto order = names(load_order(index, default_guest_modules(), optional_guest_modules()));
  INFO("order: " << [&] {
    std::string s;
    for (auto& n : order) s += n + " ";
    return s;
  }());
  for (const char* m :
       {"virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "failover", "net_failover", "virtio_net",
        "virtio_console", "virtio_rng", "vsock", "vmw_vsock_virtio_transport_common",
        "vmw_vsock_virtio_transport", "fuse", "virtiofs"}) {
    CHECK(pos(order, m) < order.size());
  }
  CHECK(pos(order, "virtio_ring") < pos(order, "virtio"));
  CHECK(pos(order, "virtio") < pos(order, "virtio_mmio"));
  CHECK(pos(order, "failover") < pos(order, "net_failover"));
  CHECK(pos(order, "net_failover") < pos(order, "virtio_net"));
  CHECK(pos(order, "vsock") < pos(order, "vmw_vsock_virtio_transport_common"));
  CHECK(pos(order, "vmw_vsock_virtio_transport_common") < pos(order, "vmw_vsock_virtio_transport"));
  CHECK(pos(order, "fuse") < pos(order, "virtiofs"));  // --mount's (virtiofs needs fuse)
  // Every module appears once.
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  CHECK(order.size() == 14);
}

TEST_CASE("modinfo: a missing required module is a not_found error - optional ones are skipped", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  auto index = ModuleIndex::scan(k.modules);
  CHECK(load_order(index, {}, {"no_such_module"}).empty());
  CHECK(load_order(index, {"ext4"}).empty());  // built in: nothing to load
  try {
    load_order(index, {"no_such_module"});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "kernel module no_such_module not found in " + k.modules);
    CHECK(e.hint() == "the kernel has no such module; use a kernel with it, or pull the kernel again");
  }
}

TEST_CASE("modinfo: a file that is not ELF is an invalid_input error naming it", "[kernel]") {
  try {
    parse_modinfo("hello", "/x/bad.ko");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "/x/bad.ko: not a kernel module: no ELF header");
  }
}

TEST_CASE("modinfo: compressed modules (.ko.xz, .ko.zst) are read", "[kernel]") {
  const auto& k = test::debian_cloud_kernel();
  std::string dir = fs::make_temp_dir("/tmp", "banger-modinfo");
  std::string src = k.modules + "/kernel/drivers/virtio/virtio_mmio.ko";
  for (std::string tool : {"xz", "zstd"}) {
    std::string out = dir + "/virtio_mmio.ko" + (tool == "xz" ? ".xz" : ".zst");
    fs::write_file(out, run_checked({tool, "-q", "-c", src}, "compressing with " + tool));
    auto info = read_modinfo(out);
    CHECK(info.name == "virtio_mmio");
    CHECK(info.depends == std::vector<std::string>{"virtio", "virtio_ring"});
    CHECK(decompress_raw(fs::read_file(out), out) == fs::read_file(src));
  }
  fs::remove_all(dir);
}
