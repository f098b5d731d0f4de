// Progress that primitives and recipes share: a stage line ("pull", "build")
// and byte counters per task (one per layer). On a terminal it draws bars on
// stderr; otherwise it prints plain lines (a line per stage, a line when a
// task ends); with --json or quiet it prints nothing.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
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

// A layer's label on its bar: "sha256:0123456789abcdef..." -> "0123456789ab";
// names that are not digests unchanged.
std::string digest_label(const std::string& name);

// Tasks known by a key (a layer's digest, its index): a key's first update
// starts its bar, which ends when it is complete (done == total), on
// finish_all(), or when the set goes, so no bar outlives the work it shows.
class TaskSet {
 public:
  TaskSet() = default;
  TaskSet(const TaskSet&) = delete;
  TaskSet& operator=(const TaskSet&) = delete;
  ~TaskSet() { finish_all(); }

  void update(const std::string& key, const std::string& label, uint64_t done, uint64_t total);
  void finish_all();

 private:
  std::mutex mu_;  // updates may come from several download threads
  std::map<std::string, int> ids_;
};

}  // namespace banger::progress
