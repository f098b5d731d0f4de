// One real boot: the Debian cloud kernel under QEMU (microvm, TCG) with an
// initramfs from build_initramfs() whose /init is a tiny static C program that
// loads the listed modules with finit_module, reports the virtio devices it
// sees and powers off.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/core/tsc.h"
#include "host/kernel/boot_args.h"
#include "host/kernel/initramfs.h"
#include "host/kernel/resolve.h"
#include "tests/support/kernel_fixture.h"

using namespace banger;
using namespace banger::kernel;

namespace {

const char* kTinyInit = R"C(
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char* label, const char* dir, const char* attr) {
  DIR* d = opendir(dir);
  if (!d) return;
  struct dirent* e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[512], value[128] = "";
    if (attr) {
      snprintf(path, sizeof(path), "%s/%s/%s", dir, e->d_name, attr);
      FILE* f = fopen(path, "r");
      if (f) {
        if (fgets(value, sizeof(value), f)) value[strcspn(value, "\n")] = 0;
        fclose(f);
      }
    }
    printf("%s %s %s\n", label, e->d_name, value);
  }
  closedir(d);
}

int main(void) {
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  FILE* list = fopen("/etc/banger/modules", "r");
  if (!list) {
    printf("BANGER-NO-MODULE-LIST\n");
  } else {
    char line[512];
    int loaded = 0, failed = 0;
    while (fgets(line, sizeof(line), list)) {
      line[strcspn(line, "\n")] = 0;
      if (!line[0]) continue;
      int fd = open(line, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)) {
        printf("BANGER-MODULE-FAILED %s: %s\n", line, strerror(errno));
        failed++;
      } else {
        loaded++;
      }
      if (fd >= 0) close(fd);
    }
    fclose(list);
    if (!failed) printf("BANGER-MODULES-OK %d\n", loaded);
  }
  show("BANGER-PORT", "/sys/class/virtio-ports", "name");
  show("BANGER-NET", "/sys/class/net", "address");
  show("BANGER-BLOCK", "/sys/block", "size");
  char up[64] = "";
  FILE* f = fopen("/proc/uptime", "r");
  if (f) {
    if (fgets(up, sizeof(up), f)) up[strcspn(up, " ")] = 0;
    fclose(f);
  }
  printf("BANGER-UPTIME %s\n", up);
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
)C";

struct TempDir {
  std::string path = fs::make_temp_dir("/tmp", "banger-boot-test");
  // BANGER_TEST_KEEP=1 keeps the files (console log, initramfs) for debugging.
  ~TempDir() {
    if (std::getenv("BANGER_TEST_KEEP")) {
      std::printf("kept %s\n", path.c_str());
    } else {
      fs::remove_all(path);
    }
  }
};

}  // namespace

TEST_CASE("kernel boot: the Debian cloud kernel loads the initramfs modules under QEMU TCG", "[kernel][vm]") {
  const auto& k = test::debian_cloud_kernel();
  auto triple = resolve({"debian-cloud", k.dir, "", "", ""});
  TempDir d;
  fs::write_file(d.path + "/init.c", kTinyInit);
  run_checked({"cc", "-static", "-Os", "-o", d.path + "/init", d.path + "/init.c"},
              "compiling the test init");

  InitramfsOptions o;
  o.init = d.path + "/init";
  o.modules_dir = triple.modules;
  o.out = d.path + "/initrd.img";
  auto initrd = build_initramfs(o);
  INFO("initramfs: " << initrd.bytes << " bytes");
  // A disk for virtio_blk to find.
  {
    int fd = ::open((d.path + "/disk.raw").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 8 << 20) == 0);
    ::close(fd);
  }

  std::string console = d.path + "/console.log";
  int out = ::open(console.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(out >= 0);
  std::string cmdline = "console=ttyS0 quiet panic=-1";
  for (const auto& arg : tcg_boot_args()) cmdline += " " + arg;
  SpawnOptions so;
  so.argv = {"qemu-system-x86_64",
             "-M",
             "microvm,x-option-roms=off,rtc=off,acpi=on",
             "-accel",
             "tcg",
             "-m",
             "512",
             "-smp",
             "1",
             "-nodefaults",
             "-no-user-config",
             "-nographic",
             "-serial",
             "stdio",
             "-kernel",
             triple.kernel,
             "-initrd",
             initrd.path,
             "-append",
             cmdline,
             "-drive",
             "id=d0,file=" + d.path + "/disk.raw,format=raw,if=none",
             "-device",
             "virtio-blk-device,drive=d0",
             "-netdev",
             "user,id=n0",
             "-device",
             "virtio-net-device,netdev=n0",
             "-device",
             "virtio-serial-device",
             "-chardev",
             "null,id=ag",
             "-device",
             "virtserialport,chardev=ag,name=banger.agent",
             "-no-reboot"};
  so.stdin_fd = null;
  so.stdout_fd = out;
  so.stderr_fd = out;
  auto start = std::chrono::steady_clock::now();
  auto qemu = Process::spawn(so);
  ::close(out);
  ::close(null);
  auto status = qemu.wait_for(std::chrono::seconds(90));
  if (!status) {
    qemu.signal(SIGKILL);
    qemu.wait();
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string log = fs::read_file(console);
  INFO("cmdline: " << cmdline << "\nconsole:\n" << log);
  REQUIRE(status.has_value());  // powered off by itself within the timeout
  CHECK(*status == 0);
  CHECK(log.find("BANGER-MODULES-OK " + std::to_string(initrd.modules.size())) != std::string::npos);
  CHECK(log.find("BANGER-MODULE-FAILED") == std::string::npos);
  CHECK(log.find(" banger.agent") != std::string::npos);  // /sys/class/virtio-ports/vport*/name
  CHECK(log.find("BANGER-BLOCK vda") != std::string::npos);
  CHECK(log.find("BANGER-NET eth0") != std::string::npos);
  auto up = log.find("BANGER-UPTIME ");
  std::string uptime = up == std::string::npos ? "?" : log.substr(up + 14, log.find('\n', up) - up - 14);
  // Visible with -s: how long the boot took here.
  SUCCEED("boot: guest uptime at marker " << uptime << " s, qemu wall " << wall << " s, initramfs "
                                          << initrd.bytes << " bytes");
  std::printf("kernel boot: guest uptime at marker %s s, qemu wall %.2f s, initramfs %llu bytes\n",
              uptime.c_str(), wall, initrd.bytes);
}

TEST_CASE("kernel boot args: the host TSC rate is measured for TCG guests", "[kernel]") {
  long khz = host_tsc_khz();
  CHECK(khz > 100'000);     // > 100 MHz
  CHECK(khz < 10'000'000);  // < 10 GHz
  CHECK(tcg_boot_args() == std::vector<std::string>{"tsc_early_khz=" + std::to_string(khz)});
}
