// The pieces of snapshots that need no guest: the QEMU arguments, the
// command-line digest a restore must match, the sparse memory copy, and
// the QMP client against a real QEMU (no machine, so no boot).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/vm/qemu_command.h"
#include "host/vm/qmp.h"
#include "host/vm/snapshot.h"
#include "tests/support/error_text.h"
#include "tests/support/skip.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::vm;

namespace {

Spec sample() {
  Spec s;
  s.name = "box";
  s.kernel = "/k/vmlinuz";
  s.initrd = "/k/initrd.img";
  s.rootfs = "/img/rootfs.ext4";
  s.state_dir = "/state/box";
  s.cpus = 2;
  s.memory_mib = 1024;
  s.net.mode = "tap";
  s.net.tap = "bg0-3";
  s.net.mac = "52:54:00:00:00:03";
  s.net.address = "10.77.0.3/24";
  s.net.gateway = "10.77.0.1";
  return s;
}

std::vector<std::string> tail(const std::vector<std::string>& v, size_t n) {
  return {v.end() - static_cast<long>(std::min(n, v.size())), v.end()};
}

}  // namespace

TEST_CASE(
    "vm command: the QMP socket and guest memory in a file and modern virtio-mmio - a restore waits for its "
    "state",
    "[vm-unit][snapshot]") {
  Spec s = sample();
  QemuFiles f{"/state/box/console.log", "/state/box/disk.qcow2", 5, -1,
              "/state/box/qmp.sock",    "/state/box/memory"};
  auto argv = qemu_argv(s, {"tcg", "test"}, f);
  CHECK(tail(argv, 8) == std::vector<std::string>{
                             "-qmp", "unix:/state/box/qmp.sock,server=on,wait=off", "-object",
                             "memory-backend-file,id=ram,size=1024M,mem-path=/state/box/memory,share=on",
                             "-machine", "memory-backend=ram", "-global", "virtio-mmio.force-legacy=false"});
  // A restore maps the snapshot's memory copy-on-write and waits for migrate-incoming.
  s.restore.state = "/snap/state";
  f.memory_file = "/snap/memory";
  f.memory_private = true;
  argv = qemu_argv(s, {"tcg", "test"}, f);
  CHECK(tail(argv, 7)[0] == "memory-backend-file,id=ram,size=1024M,mem-path=/snap/memory,share=off");
  CHECK(tail(argv, 2) == std::vector<std::string>{"-incoming", "defer"});
  CHECK(qmp_socket_path("/state/box") == "/state/box/qmp.sock");
  CHECK(memory_file_path("/state/box") == "/state/box/memory");
}

TEST_CASE(
    "vm snapshot: the command-line digest ignores what copies of a VM differ in but not what its state needs",
    "[vm-unit][snapshot]") {
  const AccelChoice tcg{"tcg", "test"};
  const std::string d = shape_digest(sample(), tcg);
  CHECK(d.rfind("sha256:", 0) == 0);
  Spec copy = sample();
  copy.name = "box-2";
  copy.state_dir = "/state/box-2";
  copy.overlay = "/state/box-2/disk.qcow2";
  copy.net.tap = "bg0-9";
  copy.net.mac = "52:54:00:00:00:09";
  copy.net.address = "10.77.0.9/24";
  copy.net.forwards = {{"tcp", "127.0.0.1", 8080, 80}};
  copy.restore.state = "/snap/state";
  CHECK(shape_digest(copy, tcg) == d);
  Spec other = sample();
  other.memory_mib = 2048;
  CHECK(shape_digest(other, tcg) != d);
  other = sample();
  other.cpus = 1;
  CHECK(shape_digest(other, tcg) != d);
  other = sample();
  other.kernel = "/k/other";
  CHECK(shape_digest(other, tcg) != d);
  other = sample();
  other.net.mode = "user";
  CHECK(shape_digest(other, tcg) != d);
  CHECK(shape_digest(sample(), {"kvm", "test"}) != d);
}

TEST_CASE("vm snapshot: the memory copy keeps the data and the holes", "[vm-unit][snapshot]") {
  banger::test::TempDir dir;
  const std::string from = dir / "memory", to = dir / "copy";
  int fd = ::open(from.c_str(), O_WRONLY | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, 64 << 20) == 0);
  std::string page(4096, 'x');
  REQUIRE(::pwrite(fd, page.data(), page.size(), 0) == 4096);
  REQUIRE(::pwrite(fd, page.data(), page.size(), 32 << 20) == 4096);
  ::close(fd);
  CHECK(copy_sparse(from, to) == 8192);
  CHECK(fs::read_file(to) == fs::read_file(from));
  struct stat st {};
  REQUIRE(::stat(to.c_str(), &st) == 0);
  CHECK(st.st_size == 64 << 20);
  CHECK(st.st_blocks * 512 < (1 << 20));  // sparse, not 64 MiB written
  CHECK(test::error_message([&] { copy_sparse(from, to); }) == "creating " + to + ": File exists");
}

TEST_CASE("vm qmp: a real QEMU answers and its refusals name the command", "[vm-unit][snapshot]") {
  if (!find_executable("qemu-system-x86_64")) BANGER_SKIP("qemu-system-x86_64 is not installed");
  banger::test::TempDir dir;
  const std::string sock = dir / "qmp.sock";
  SpawnOptions o;
  o.argv = {"qemu-system-x86_64", "-M",   "none", "-nodefaults",
            "-display",           "none", "-qmp", "unix:" + sock + ",server=on,wait=off"};
  Process qemu = Process::spawn(o);
  Qmp q = Qmp::connect(sock, "box", std::chrono::steady_clock::now() + std::chrono::seconds(20));
  nlohmann::json status = q.execute("query-status");
  CHECK(status["running"].is_boolean());
  CHECK(qemu_version(q).rfind(std::to_string(q.execute("query-version")["qemu"]["major"].get<int>()) + ".",
                              0) == 0);
  CHECK(test::error_message([&] { q.execute("no-such-command"); }) ==
        "VM 'box': QEMU refused no-such-command: The command no-such-command has not been found");
  q.execute("quit");
  CHECK(qemu.wait_for(std::chrono::seconds(10)).has_value());
  CHECK(test::error_message([&] { q.execute("query-status"); }) == "VM 'box': QEMU closed its QMP socket");
  CHECK(test::error_message(
            [&] { Qmp::connect(dir / "none.sock", "box", std::chrono::steady_clock::now()); }) ==
        "VM 'box': connecting to QEMU's QMP socket " + dir / "none.sock" + ": No such file or directory");
}
