#include "host/core/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>

namespace banger::progress {

namespace {

struct Task {
  std::string label;
  uint64_t total = 0;
  uint64_t done = 0;
};

struct State {
  std::mutex mu;
  Mode mode = Mode::automatic;
  std::map<int, Task> tasks;
  int next_id = 1;
  int drawn_lines = 0;
  std::chrono::steady_clock::time_point last_draw{};
};

State& state() {
  static State s;
  return s;
}

Mode effective(State& s) {
  if (s.mode != Mode::automatic) return s.mode;
  return isatty(STDERR_FILENO) ? Mode::bars : Mode::lines;
}

std::string human(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30)) snprintf(buf, sizeof buf, "%.1f GiB", bytes / double(1ull << 30));
  else if (bytes >= (1ull << 20)) snprintf(buf, sizeof buf, "%.1f MiB", bytes / double(1ull << 20));
  else if (bytes >= 1024) snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

void clear_bars(State& s) {
  for (int i = 0; i < s.drawn_lines; i++) fputs("\x1b[1A\x1b[2K", stderr);
  s.drawn_lines = 0;
}

void draw_bars(State& s) {
  clear_bars(s);
  for (const auto& [id, t] : s.tasks) {
    constexpr int width = 30;
    int filled = t.total ? static_cast<int>(width * (double(t.done) / double(t.total))) : 0;
    if (filled > width) filled = width;
    std::string bar(filled, '#');
    bar.append(width - filled, '.');
    std::string label = t.label.size() > 24 ? t.label.substr(0, 24) : t.label;
    if (t.total)
      fprintf(stderr, "  %-24s [%s] %s / %s\n", label.c_str(), bar.c_str(), human(t.done).c_str(),
              human(t.total).c_str());
    else fprintf(stderr, "  %-24s %s\n", label.c_str(), human(t.done).c_str());
    s.drawn_lines++;
  }
  fflush(stderr);
  s.last_draw = std::chrono::steady_clock::now();
}

}  // namespace

void set_mode(Mode m) {
  std::lock_guard lock(state().mu);
  state().mode = m;
}

Mode mode() {
  std::lock_guard lock(state().mu);
  return effective(state());
}

void stage(const std::string& text) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  Mode m = effective(s);
  if (m == Mode::quiet) return;
  if (m == Mode::bars) clear_bars(s);
  fprintf(stderr, "==> %s\n", text.c_str());
  if (m == Mode::bars) draw_bars(s);
  fflush(stderr);
}

void note(const std::string& text) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  Mode m = effective(s);
  if (m == Mode::quiet) return;
  if (m == Mode::bars) clear_bars(s);
  fprintf(stderr, "    %s\n", text.c_str());
  if (m == Mode::bars) draw_bars(s);
  fflush(stderr);
}

int start(const std::string& label, uint64_t total) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  int id = s.next_id++;
  s.tasks[id] = Task{label, total, 0};
  if (effective(s) == Mode::bars) draw_bars(s);
  return id;
}

void update(int id, uint64_t done) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  auto it = s.tasks.find(id);
  if (it == s.tasks.end()) return;
  it->second.done = done;
  // Redraw at most 10 times a second.
  if (effective(s) == Mode::bars &&
      std::chrono::steady_clock::now() - s.last_draw > std::chrono::milliseconds(100))
    draw_bars(s);
}

void finish(int id) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  auto it = s.tasks.find(id);
  if (it == s.tasks.end()) return;
  Task t = it->second;
  Mode m = effective(s);
  if (m == Mode::bars) clear_bars(s);
  s.tasks.erase(it);
  if (m != Mode::quiet)
    fprintf(stderr, "    %s: %s done\n", t.label.c_str(), human(t.done ? t.done : t.total).c_str());
  if (m == Mode::bars) draw_bars(s);
  fflush(stderr);
}

std::string digest_label(const std::string& name) {
  return name.rfind("sha256:", 0) == 0 ? name.substr(7, 12) : name;
}

void TaskSet::update(const std::string& key, const std::string& label, uint64_t done, uint64_t total) {
  std::lock_guard lock(mu_);
  auto it = ids_.find(key);
  if (it == ids_.end()) it = ids_.emplace(key, start(label, total)).first;
  progress::update(it->second, done);
  if (total > 0 && done >= total) {
    finish(it->second);
    ids_.erase(it);
  }
}

void TaskSet::finish_all() {
  std::lock_guard lock(mu_);
  for (const auto& [key, id] : ids_) finish(id);
  ids_.clear();
}

}  // namespace banger::progress
