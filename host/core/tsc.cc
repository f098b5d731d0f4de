#include "host/core/tsc.h"

#include <time.h>
#include <unistd.h>
#include <cstdio>

#include <mutex>
#include <string>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/paths.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace banger {

namespace {

#if defined(__x86_64__) || defined(__i386__)
uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

// A (clock, tsc) pair taken as close together as a few tries allow, so a
// preemption between the two reads does not skew the measurement.
void sample(uint64_t& ns, uint64_t& tsc) {
  uint64_t best = ~0ull;
  for (int i = 0; i < 16; ++i) {
    uint64_t a = now_ns();
    uint64_t t = __rdtsc();
    uint64_t b = now_ns();
    if (b - a < best) {
      best = b - a;
      ns = a + (b - a) / 2;
      tsc = t;
    }
  }
}

uint64_t measure() {
  uint64_t ns0, tsc0, ns1, tsc1;
  sample(ns0, tsc0);
  timespec d{0, 20 * 1000 * 1000};
  nanosleep(&d, nullptr);
  sample(ns1, tsc1);
  if (ns1 <= ns0 || tsc1 <= tsc0) return 0;
  return static_cast<uint64_t>(static_cast<double>(tsc1 - tsc0) * 1e6 / static_cast<double>(ns1 - ns0));
}
#else
uint64_t measure() { return 0; }
#endif

std::string boot_id() {
  try {
    std::string id = fs::read_file("/proc/sys/kernel/random/boot_id");
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id;
  } catch (const Error&) {
    return "";
  }
}

// The rate measured earlier in this boot, or 0.
uint64_t cached(const std::string& file, const std::string& boot) {
  try {
    std::string text = fs::read_file(file);
    auto space = text.find(' ');
    if (boot.empty() || space == std::string::npos || text.substr(0, space) != boot) return 0;
    return std::stoull(text.substr(space + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

void remember(const std::string& file, const std::string& boot, uint64_t khz) {
  if (boot.empty() || khz == 0) return;
  try {
    std::string tmp = file + ".tmp-" + std::to_string(getpid());
    fs::write_file(tmp, boot + " " + std::to_string(khz) + "\n");
    if (::rename(tmp.c_str(), file.c_str()) != 0) fs::remove_all(tmp);
  } catch (const Error&) {
    // No home yet or read-only: measuring next time is fine.
  }
}

}  // namespace

uint64_t tsc_khz_cached(const std::string& file) {
  const std::string boot = boot_id();
  if (uint64_t khz = cached(file, boot)) return khz;
  uint64_t khz = measure();
  remember(file, boot, khz);
  return khz;
}

uint64_t host_tsc_khz() {
  static std::once_flag once;
  static uint64_t khz = 0;
  std::call_once(once, [] { khz = tsc_khz_cached(paths::home() + "/tsc_khz"); });
  return khz;
}

}  // namespace banger
