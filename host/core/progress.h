// Progress that primitives and recipes share: a stage line ("pull", "build")
// and byte counters per task (one per layer). On a terminal it draws bars on
// stderr; otherwise it prints plain lines (a line per stage, a line when a
// task ends); with --json or quiet it prints nothing.
#pragma once

#include <cstdint>
#include <string>

namespace banger::progress {

enum class Mode { automatic, bars, lines, quiet };

void set_mode(Mode mode);
Mode mode();

void stage(const std::string& text);
// Starts a task; total 0 means unknown. Returns its id.
int start(const std::string& label, uint64_t total);
void update(int id, uint64_t done);
void finish(int id);
// A free-form line that does not break the bars.
void note(const std::string& text);

}  // namespace banger::progress
