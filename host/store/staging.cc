#include "host/store/staging.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/staging_dir.h"

namespace banger::store {

namespace stdfs = std::filesystem;

namespace {

// True when nobody holds the flock on `path` (tested by taking it at once).
bool lock_free(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);  // releases it again
  return free;
}

constexpr std::chrono::seconds kLegacyGrace{3600};

bool older_than(const struct stat& st, std::chrono::seconds age) {
  return std::time(nullptr) - st.st_mtime > age.count();
}

}  // namespace

unsigned long long disk_usage(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  unsigned long long total = static_cast<unsigned long long>(st.st_blocks) * 512;
  if (!S_ISDIR(st.st_mode)) return total;
  std::error_code ec;
  for (auto it =
           stdfs::recursive_directory_iterator(path, stdfs::directory_options::skip_permission_denied, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<unsigned long long>(st.st_blocks) * 512;
  }
  return total;
}

std::vector<Leftover> dead_staging(const std::string& parent, std::chrono::seconds grace) {
  std::vector<Leftover> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(parent, ec)) {
    std::string name = e.path().filename();
    struct stat st {};
    if (name.size() < 2 || name[0] != '.' || ::lstat(e.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    std::string lock = e.path().string() + "/" + fs::kStagingLock;
    struct stat lst {};
    bool dead;
    if (::lstat(lock.c_str(), &lst) == 0) dead = older_than(lst, grace) && lock_free(lock);
    else
      // Only the pulls' and kernel imports' own dirs from before owners
      // locked them, and only long after any such run could still be going:
      // another kind of dir here is not ours to judge.
      dead = (name.rfind(".pull-", 0) == 0 || name.rfind(".kernel-", 0) == 0) && older_than(st, kLegacyGrace);
    if (dead) out.push_back({e.path().string(), disk_usage(e.path().string())});
  }
  return out;
}

std::vector<Leftover> idle_partials(const std::string& blob_dir) {
  std::vector<Leftover> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(blob_dir, ec)) {
    std::string p = e.path().string();
    if (p.size() < 8 || p.compare(p.size() - 8, 8, ".partial") != 0) continue;
    if (lock_free(p)) out.push_back({p, disk_usage(p)});
  }
  return out;
}

unsigned long long reclaim_staging(const std::string& parent, std::chrono::seconds grace) {
  unsigned long long freed = 0;
  for (const auto& l : dead_staging(parent, grace)) {
    spdlog::info("removing {} ({} bytes): staging of a banger process that is gone", l.path, l.bytes);
    try {
      fs::remove_all(l.path);
      freed += l.bytes;
    } catch (const Error& e) {
      spdlog::warn("{}", e.message());
    }
  }
  return freed;
}

}  // namespace banger::store
