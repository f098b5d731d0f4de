#include <catch2/catch.hpp>

#include <string>

#include "host/core/fs.h"
#include "host/core/tsc.h"
#include "tests/support/temp_dir.h"

using namespace banger;

TEST_CASE("core tsc: the host TSC rate is measured once per host boot", "[core]") {
#if defined(__x86_64__)
  uint64_t khz = host_tsc_khz();
  CHECK(khz > 100000);    // > 100 MHz
  CHECK(khz < 10000000);  // < 10 GHz
  CHECK(host_tsc_khz() == khz);

  test::TempDir dir;
  std::string file = dir / "tsc_khz";
  std::string boot = fs::read_file("/proc/sys/kernel/random/boot_id");
  boot.pop_back();  // the newline
  uint64_t measured = tsc_khz_cached(file);
  CHECK(fs::read_file(file) == boot + " " + std::to_string(measured) + "\n");
  // What this boot kept is used as it is...
  fs::write_file(file, boot + " 1234\n");
  CHECK(tsc_khz_cached(file) == 1234);
  // ...and what another boot kept is measured again.
  fs::write_file(file, "another-boot 1234\n");
  CHECK(tsc_khz_cached(file) > 100000);
  CHECK(fs::read_file(file).rfind(boot + " ", 0) == 0);
#endif
}
