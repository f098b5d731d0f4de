#include "host/core/interrupt.h"

#include <unistd.h>
#include <atomic>
#include <csignal>

#include "host/core/error.h"

namespace banger {

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) {
  if (g_interrupted.exchange(true)) _exit(130);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // Writes to a closed pipe become EPIPE errors, not a silent death.
  signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

void check_interrupted() {
  if (interrupted())
    fail(ErrorKind::interrupted, "interrupted",
         "the operation was cancelled with Ctrl-C; nothing was published");
}

void set_interrupted(bool value) { g_interrupted = value; }

}  // namespace banger
