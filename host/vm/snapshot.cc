#include "host/vm/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/vm/qemu_command.h"
#include "host/vm/vm.h"

namespace banger::vm {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// exec: URIs go through /bin/sh: only paths banger made (no quote in them).
std::string shell_quoted(const std::string& path) {
  if (path.find('\'') != std::string::npos)
    fail(ErrorKind::invalid_input, "path " + path + " has a quote in it", "use a BANGER_HOME without quotes");
  return "'" + path + "'";
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("opening " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail_errno("syncing " + path);
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Migrates the (stopped) VM's device state into `state`, waiting for QEMU
// to finish; QEMU's own failure text names what went wrong.
void migrate_to(Qmp& qmp, const std::string& vm, const std::string& state) {
  qmp.execute("migrate-set-capabilities",
              {{"capabilities", Json::array({{{"capability", "x-ignore-shared"}, {"state", true}}})}});
  qmp.execute("migrate", {{"uri", "exec:cat > " + shell_quoted(state)}});
  auto deadline = Clock::now() + std::chrono::minutes(5);
  for (;;) {
    Json m = qmp.execute("query-migrate");
    std::string status = m.value("status", std::string());
    if (status == "completed") return;
    if (status == "failed" || status == "cancelled")
      fail(ErrorKind::io, "VM '" + vm + "': saving its state failed: " + m.value("error-desc", status),
           "see the VM's qemu.log");
    if (Clock::now() > deadline) {
      qmp.execute("migrate_cancel");
      fail(ErrorKind::io, "VM '" + vm + "': saving its state did not finish within 5 minutes");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

Json SaveResult::to_json() const {
  return {{"qemu_version", qemu_version}, {"shape_digest", shape_digest}, {"memory_file", memory_file},
          {"new_overlay", new_overlay},   {"paused_ms", paused_ms},       {"migrate_ms", migrate_ms},
          {"memory_ms", memory_ms},       {"disk_ms", disk_ms},           {"state_bytes", state_bytes},
          {"memory_bytes", memory_bytes}};
}

std::string qemu_version(Qmp& qmp) {
  Json v = qmp.execute("query-version");
  const Json& q = v.value("qemu", Json::object());
  std::string s = std::to_string(q.value("major", 0)) + "." + std::to_string(q.value("minor", 0)) + "." +
                  std::to_string(q.value("micro", 0));
  std::string package = v.value("package", std::string());
  if (!package.empty()) s += " (" + package + ")";
  return s;
}

uint64_t copy_sparse(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail_errno("opening " + from);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    int e = errno;
    ::close(in);
    errno = e;
    fail_errno("creating " + to);
  }
  uint64_t copied = 0;
  auto done = [&] {
    ::close(in);
    ::close(out);
  };
  const off_t size = static_cast<off_t>(file_size(from));
  off_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(in, pos, SEEK_DATA);
    if (data < 0) break;  // ENXIO: only a hole is left
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    off_t src = data, dst = data;
    while (src < hole) {
      ssize_t n = ::copy_file_range(in, &src, out, &dst, static_cast<size_t>(hole - src), 0);
      if (n <= 0) {
        int e = n < 0 ? errno : EIO;
        done();
        errno = e;
        fail_errno("copying " + from + " to " + to);
      }
      copied += static_cast<uint64_t>(n);
    }
    pos = hole;
  }
  if (::ftruncate(out, size) != 0) {
    done();
    fail_errno("sizing " + to);
  }
  done();
  return copied;
}

SaveResult save_snapshot(Vm& vm, const std::string& dir) {
  const std::string& name = vm.info().name;
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode))
    fail(ErrorKind::invalid_input, "snapshot directory " + dir + " does not exist");
  // virtiofsd holds a mount's state, and QEMU refuses to migrate it.
  if (!vm.spec().mounts.empty())
    fail(ErrorKind::unsupported, "VM " + name + " has a live mount, which a snapshot cannot save",
         "snapshot a VM made without --mount");
  SaveResult r;
  Qmp& qmp = vm.qmp();
  r.qemu_version = qemu_version(qmp);
  r.shape_digest = shape_digest(vm.spec(), AccelChoice{vm.info().accel, vm.info().accel_reason});
  // The VM's own memory file is shared with QEMU: a copy of it is the RAM.
  // A restored VM maps its snapshot's file privately: its RAM goes into
  // the state stream instead.
  r.memory_file = vm.spec().restore.memory.empty();
  const std::string own_memory = memory_file_path(vm.spec().state_dir);
  const std::string frozen = dir + "/disk.qcow2";
  const std::string state = dir + "/state";
  const bool was_paused = vm.paused();

  auto t0 = Clock::now();
  if (!was_paused) vm.pause();
  // From here the VM runs on again whatever happens (unless it was paused).
  struct Resume {
    Vm& vm;
    bool enabled;
    void now() {
      if (!enabled) return;
      enabled = false;
      try {
        vm.resume();
      } catch (const Error& e) {
        spdlog::error("VM '{}': resuming after the snapshot: {}", vm.info().name, e.message());
      }
    }
    ~Resume() { now(); }
  } resume{vm, !was_paused};

  auto t1 = Clock::now();
  // First the disk, while QEMU still owns it (a finished migration hands
  // the images over until `cont`): QEMU moves the VM onto a new overlay whose backing file is the
  // current one, which is never written again; the snapshot links to it.
  const std::string old_overlay = vm.info().overlay;
  const std::string next = vm.spec().state_dir + "/disk-" +
                           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()) +
                           ".qcow2";
  qmp.execute("blockdev-snapshot-sync",
              {{"device", "root"}, {"snapshot-file", next}, {"format", "qcow2"}, {"mode", "absolute-paths"}},
              std::chrono::seconds(60));
  vm.set_overlay(next);
  r.new_overlay = next;
  if (::link(old_overlay.c_str(), frozen.c_str()) != 0)
    fail_errno("linking the frozen disk " + old_overlay + " into " + dir);
  auto t2 = Clock::now();
  r.disk_ms = ms_between(t1, t2);
  migrate_to(qmp, name, state);
  auto t3 = Clock::now();
  r.migrate_ms = ms_between(t2, t3);
  if (r.memory_file) r.memory_bytes = copy_sparse(own_memory, dir + "/memory");
  auto t4 = Clock::now();
  r.memory_ms = ms_between(t3, t4);

  r.paused_ms = was_paused ? 0 : ms_between(t0, t4);
  resume.now();

  // Durable before the caller publishes it (the VM runs meanwhile).
  fsync_path(state);
  if (r.memory_file) fsync_path(dir + "/memory");
  fsync_path(frozen);
  fsync_path(dir);
  r.state_bytes = file_size(state);
  spdlog::info("VM '{}': saved to {} (paused {:.1f} ms: state {:.1f} ms, memory {:.1f} ms, disk {:.1f} ms)",
               name, dir, r.paused_ms, r.migrate_ms, r.memory_ms, r.disk_ms);
  return r;
}

}  // namespace banger::vm
