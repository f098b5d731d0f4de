#include "host/doctor/state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/paths.h"
#include "host/store/repair.h"
#include "host/store/staging.h"

namespace banger::doctor {

namespace {

constexpr const char* kRepair = "banger doctor --repair";

unsigned long long total(const std::vector<store::Leftover>& l) {
  unsigned long long n = 0;
  for (const auto& x : l) n += x.bytes;
  return n;
}

std::string count(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string list_dirs(const std::vector<store::StateDir>& dirs, size_t max = 5) {
  std::string s;
  for (size_t i = 0; i < dirs.size() && i < max; i++) s += (i ? ", " : "") + dirs[i].dir;
  if (dirs.size() > max) s += " and " + std::to_string(dirs.size() - max) + " more";
  return s;
}

Check index_check() {
  Check c{"state index", "ok", false, "", ""};
  std::string db = paths::index_db();
  store::IndexHealth h = store::check_index();
  if (!h.damaged.empty()) {
    c.status = "fail";
    c.essential = true;
    c.detail = h.damaged.rfind("the state index ", 0) == 0 ? h.damaged : db + " is " + h.damaged;
    c.fix = std::string(kRepair) + " rebuilds it from the state directories (a damaged file is kept aside)";
    return c;
  }
  std::vector<std::string> problems;
  if (!h.orphans.empty()) problems.push_back("not in the index: " + list_dirs(h.orphans));
  if (!h.missing.empty()) problems.push_back("recorded, but gone: " + list_dirs(h.missing));
  struct stat st {};
  if (::stat(db.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    problems.push_back(db + " is mode " + mode + " (readable by others)");
  }
  if (problems.empty()) {
    c.detail = db;
    return c;
  }
  c.status = "warn";
  for (const auto& p : problems) c.detail += (c.detail.empty() ? "" : "; ") + p;
  c.fix =
      std::string(kRepair) + " re-indexes orphan directories, drops records without one and sets mode 0600";
  return c;
}

Check leftovers_check() {
  Check c{"leftovers", "ok", false, "", ""};
  auto staging = store::dead_staging(paths::staging());
  auto partials = store::idle_partials(paths::blobs() + "/sha256");
  if (staging.empty() && partials.empty()) {
    c.detail = "no staging or partial downloads left by killed commands";
    return c;
  }
  std::vector<std::string> parts;
  if (!staging.empty())
    parts.push_back(count(staging.size(), "staging dir", "staging dirs") + " of killed pulls or imports (" +
                    format_bytes(total(staging)) + ") in " + paths::staging());
  if (!partials.empty())
    parts.push_back(count(partials.size(), "partial download", "partial downloads") + " (" +
                    format_bytes(total(partials)) + ") in " + paths::blobs() + "/sha256");
  c.status = "warn";
  for (const auto& p : parts) c.detail += (c.detail.empty() ? "" : "; ") + p;
  c.fix =
      std::string(kRepair) + " removes them (pulling the same image again would resume a partial download)";
  return c;
}

}  // namespace

std::string format_bytes(unsigned long long bytes) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::vector<Check> state_checks() { return {index_check(), leftovers_check()}; }

std::vector<std::string> repair(long long first, long long last) {
  std::vector<std::string> done;
  paths::ensure_layout();
  for (const auto& l : store::dead_staging(paths::staging())) {
    fs::remove_all(l.path);
    done.push_back("removed " + l.path + " (" + format_bytes(l.bytes) + ")");
  }
  for (const auto& l : store::idle_partials(paths::blobs() + "/sha256")) {
    ::unlink(l.path.c_str());
    done.push_back("removed " + l.path + " (" + format_bytes(l.bytes) + ")");
  }
  for (auto& line : store::repair_index(first, last)) done.push_back(std::move(line));
  std::string db = paths::index_db();
  struct stat st {};
  if (::stat(db.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    if (::chmod(db.c_str(), 0600) != 0) fail_errno("chmod " + db);
    done.push_back("set " + db + " to mode 0600");
  }
  return done;
}

}  // namespace banger::doctor
