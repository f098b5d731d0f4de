#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "guest/agent.h"

namespace banger::agent {

void log(const char* fmt, ...) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "banger-agent: ");
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof buf - n - 2));
  buf[len++] = '\n';
  (void)!write(2, buf, len);
}

bool g_trace = false;

void trace(const char* step) {
  if (!g_trace) return;
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  log("[%llu.%03llu ms] %s", static_cast<unsigned long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000,
      static_cast<unsigned long long>(ts.tv_nsec / 1000 % 1000), step);
}

uint64_t uptime_ms() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint64_t monotonic_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace banger::agent
