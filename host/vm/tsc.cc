#include "host/vm/tsc.h"

#include <time.h>

#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace banger::vm {

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

}  // namespace

uint64_t host_tsc_khz() {
  static std::once_flag once;
  static uint64_t khz = 0;
  std::call_once(once, [] { khz = measure(); });
  return khz;
}

}  // namespace banger::vm
