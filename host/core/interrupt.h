// Ctrl-C: the first SIGINT/SIGTERM sets a flag that long-running primitives
// poll with check_interrupted(), so work unwinds through normal error paths and
// cleans up (staging dirs, child processes) instead of dying mid-write.
#pragma once

namespace banger {

// Installs the SIGINT/SIGTERM handlers (idempotent). A second Ctrl-C while
// the first one is being handled exits at once with status 130.
void install_interrupt_handlers();

bool interrupted();
// Throws Error{interrupted} if Ctrl-C was pressed.
void check_interrupted();
// For tests and for code that has handled the interrupt.
void set_interrupted(bool value);

// A descriptor that is readable while the interrupted flag is set (a pipe the
// signal handler writes to), for code that waits in poll(): checking the flag
// and then blocking in read() would miss a Ctrl-C that lands in between.
// -1 before install_interrupt_handlers().
int interrupt_fd();

}  // namespace banger
