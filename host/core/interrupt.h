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

}  // namespace banger
