#include "host/kernel/boot_args.h"

#include <time.h>

#include <algorithm>
#include <spdlog/spdlog.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace banger::kernel {
namespace {

#if defined(__x86_64__) || defined(__i386__)
long long now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long measure_once() {
  long long t0 = now_ns();
  unsigned long long c0 = __rdtsc();
  long long t1;
  do {
    t1 = now_ns();
  } while (t1 - t0 < 20'000'000);
  unsigned long long c1 = __rdtsc();
  return long((c1 - c0) * 1'000'000ULL / (unsigned long long)(t1 - t0));
}
#endif

}  // namespace

long host_tsc_khz() {
  static const long khz = [] {
#if defined(__x86_64__) || defined(__i386__)
    // Three samples; the median shrugs off one preempted measurement.
    long s[3] = {measure_once(), measure_once(), measure_once()};
    std::sort(s, s + 3);
    spdlog::debug("host TSC: {} kHz", s[1]);
    return s[1];
#else
    return 0L;
#endif
  }();
  return khz;
}

std::vector<std::string> tcg_boot_args() {
  long khz = host_tsc_khz();
  if (khz <= 0) return {};
  return {"tsc_early_khz=" + std::to_string(khz)};
}

}  // namespace banger::kernel
