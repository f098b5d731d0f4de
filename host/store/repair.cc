#include "host/store/repair.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/paths.h"
#include "host/store/index.h"

namespace banger::store {

namespace stdfs = std::filesystem;

namespace {

const std::vector<std::pair<std::string, std::string (*)()>> kKinds = {
    {"image", paths::images}, {"kernel", paths::kernels}, {"vm", paths::vms}};

bool fresh_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) != 0 || st.st_size == 0;
}

// What a record.json holds, or a minimal record when it has none (made
// before records were mirrored): enough for images and kernels, whose
// directory is self-describing; a VM without one cannot be rebuilt.
std::optional<Json> recovered_record(const StateDir& d) {
  std::string file = d.dir + "/" + kRecordFile;
  if (fs::exists(file)) {
    Json j = Json::parse(fs::read_file(file), nullptr, false);
    if (j.is_object() && j.value("kind", "") == d.kind && j.value("name", "") == d.name) {
      j["dir"] = d.dir;
      return j;
    }
  }
  if (d.kind == "image" && fs::exists(d.dir + "/rootfs.ext4"))
    return Json{{"dir", d.dir}, {"rootfs", d.dir + "/rootfs.ext4"}, {"source", "recovered"}};
  if (d.kind == "kernel") return Json{{"dir", d.dir}, {"source", "recovered"}};
  return std::nullopt;
}

std::string plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::vector<StateDir> state_dirs() {
  std::vector<StateDir> out;
  for (const auto& [kind, dir] : kKinds) {
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(dir(), ec)) {
      std::string name = e.path().filename();
      if (name.empty() || name[0] == '.' || !e.is_directory(ec)) continue;
      out.push_back({kind, name, e.path().string()});
    }
  }
  std::sort(out.begin(), out.end(), [](const StateDir& a, const StateDir& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  return out;
}

std::string describe(const std::vector<StateDir>& dirs) {
  std::map<std::string, size_t> n;
  for (const auto& d : dirs) n[d.kind]++;
  std::vector<std::string> parts;
  if (n["image"]) parts.push_back(plural(n["image"], "image"));
  if (n["kernel"]) parts.push_back(plural(n["kernel"], "kernel"));
  if (n["vm"]) parts.push_back(std::to_string(n["vm"]) + (n["vm"] == 1 ? " VM" : " VMs"));
  std::string s;
  for (size_t i = 0; i < parts.size(); i++)
    s += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return s;
}

std::string lost_index() {
  std::string db = paths::index_db();
  if (!fresh_file(db) || !fresh_file(db + "-wal")) return "";
  auto dirs = state_dirs();
  if (dirs.empty()) return "";
  return std::string(fs::exists(db) ? "empty" : "missing") + " but the state directories hold " +
         describe(dirs);
}

IndexHealth check_index() {
  IndexHealth h;
  std::string db = paths::index_db();
  auto dirs = state_dirs();
  if (fresh_file(db) && fresh_file(db + "-wal")) {
    h.damaged = lost_index();
    if (!h.damaged.empty()) h.orphans = dirs;
    return h;
  }
  std::set<std::pair<std::string, std::string>> recorded;
  try {
    Index idx(db);
    std::string check = idx.quick_check();
    if (check != "ok") {
      h.damaged = "the state index " + db + " is damaged (" + check + ")";
      return h;
    }
    for (const auto& [kind, dir] : kKinds)
      for (const auto& r : idx.list(kind)) {
        recorded.insert({kind, r.value("name", "")});
        std::string d = r.value("dir", "");
        if (!d.empty() && !fs::exists(d)) h.missing.push_back({kind, r.value("name", ""), d});
      }
  } catch (const Error& e) {
    h.damaged = e.message();
    return h;
  }
  for (const auto& d : dirs)
    if (!recorded.count({d.kind, d.name})) h.orphans.push_back(d);
  return h;
}

std::vector<std::string> repair_index(long long first, long long last) {
  std::vector<std::string> done;
  IndexHealth h = check_index();
  std::string db = paths::index_db();
  if (!h.damaged.empty()) {
    if (fs::exists(db) && !fresh_file(db)) {
      std::string aside = db + ".damaged-" + std::to_string(std::time(nullptr));
      if (::rename(db.c_str(), aside.c_str()) != 0) fail_errno("moving " + db + " aside");
      for (const char* ext : {"-wal", "-shm"}) {
        std::string f = db + ext;
        if (fs::exists(f)) (void)::rename(f.c_str(), (aside + ext).c_str());
      }
      done.push_back("moved the damaged index to " + aside);
    } else {
      for (const char* ext : {"", "-wal", "-shm"}) ::unlink((db + ext).c_str());
    }
    h.orphans = state_dirs();
    h.missing.clear();
  }
  Index idx(db);
  for (const auto& m : h.missing) {
    idx.remove(m.kind, m.name);
    done.push_back("dropped " + m.kind + " '" + m.name + "' (" + m.dir + " is gone)");
  }
  for (const auto& d : h.orphans) {
    auto rec = recovered_record(d);
    if (!rec) {
      done.push_back("left " + d.dir + " alone: it has no " + kRecordFile + " to rebuild VM '" + d.name +
                     "' from");
      continue;
    }
    Json data = *rec;
    if (d.kind == "vm") {
      // Whatever ran is gone with the old index's view of it.
      data["state"] = "stopped";
      for (const char* k : {"supervisor_pid", "qemu_pid", "ip"}) data.erase(k);
      long long want = data.value("address", 0LL);
      long long got = -1;
      if (want >= first && want <= last) {
        try {
          got = idx.insert_with_address("vm", d.name, data, want, want);
        } catch (const Error&) {
        }
      }
      if (got < 0) got = idx.insert_with_address("vm", d.name, data, first, last);
      if (got != want) {
        data["address"] = got;
        idx.update("vm", d.name, data);
      }
    } else {
      idx.insert(d.kind, d.name, data);
    }
    done.push_back("recorded " + d.kind + " '" + d.name + "' from " + d.dir);
  }
  return done;
}

}  // namespace banger::store
