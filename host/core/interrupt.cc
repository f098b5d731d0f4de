#include "host/core/interrupt.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>

#include "host/core/error.h"

namespace banger {

namespace {

std::atomic<bool> g_interrupted{false};
// The self-pipe behind interrupt_fd(): [0] polled, [1] written by the handler.
int g_wake[2] = {-1, -1};

void on_signal(int) {
  if (g_interrupted.exchange(true)) _exit(130);
  if (g_wake[1] >= 0) {
    int saved = errno;  // the interrupted code may be about to read errno
    char byte = 1;
    (void)!write(g_wake[1], &byte, 1);
    errno = saved;
  }
}

void drain_wake_pipe() {
  char buf[64];
  while (g_wake[0] >= 0 && read(g_wake[0], buf, sizeof buf) > 0) {
  }
}

}  // namespace

void install_interrupt_handlers() {
  if (g_wake[0] < 0 && pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) g_wake[0] = g_wake[1] = -1;
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

void set_interrupted(bool value) {
  // Drained before the flag clears: a Ctrl-C in between leaves both set.
  if (!value) drain_wake_pipe();
  g_interrupted = value;
}

int interrupt_fd() { return g_wake[0]; }

}  // namespace banger
