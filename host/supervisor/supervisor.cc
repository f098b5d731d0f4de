#include "host/supervisor/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/lock.h"
#include "host/store/index.h"
#include "host/supervisor/control.h"
#include "host/supervisor/network.h"
#include "host/supervisor/owner.h"
#include "host/supervisor/router.h"
#include "host/supervisor/virtiofs.h"
#include "host/supervisor/vmm_control.h"
#include "host/vm/qemu_command.h"
#include "host/vm/spec_json.h"
#include "host/vm/vm.h"

namespace banger::supervisor {

namespace {

using Json = nlohmann::json;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_stop_now{false};

void on_term(int) { g_stop = true; }

void write_status(int fd, const std::string& line) {
  if (fd < 0) return;
  std::string l = line + "\n";
  (void)!::write(fd, l.data(), l.size());
}

}  // namespace

int listen_socket(const std::string& path, const std::string& what) {
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    fail(ErrorKind::invalid_input, what + " socket path too long: " + path);
  }
  std::strcpy(addr.sun_path, path.c_str());
  mode_t old = umask(0177);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || ::listen(fd, 64) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    fail_errno((rc != 0 ? "binding " : "listening on ") + path);
  }
  return fd;
}

int listen_control(const std::string& path) { return listen_socket(path, "control"); }

namespace {

// The VM's info plus what the supervisor adds: its own pid, the tap address.
Json info_json(const vm::Vm& v, const NetState& net) {
  Json j = vm::info_to_json(v.info());
  j["pid"] = getpid();
  j["paused"] = v.paused();
  if (!net.ip.empty()) {
    j["ip"] = net.ip;
    j["tap"] = net.tap;
  }
  return j;
}

// Marks the VM's record: what `vm ls` shows and what reconcile checks.
void update_record(const std::string& name, const Json& fields) {
  auto& idx = store::default_index();
  auto rec = idx.get("vm", name);
  if (!rec) return;  // removed meanwhile
  for (auto& [k, v] : fields.items()) (*rec)[k] = v;
  idx.update("vm", name, *rec);
}

}  // namespace

int supervise(const std::string& spec_path, int status_fd) {
  // QEMU must not inherit the status pipe, or the spawner never sees it close.
  if (status_fd >= 0) fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  write_status(status_fd, "pid " + std::to_string(getpid()));

  std::string name, state_dir;
  NetState net;
  // One virtiofsd per live mount, killed when these go (or this process dies).
  std::vector<Process> virtiofsd;
  size_t mount_count = 0;
  auto remove_mount_sockets = [&] {
    for (size_t i = 0; i < mount_count; ++i) ::unlink(vm::mount_socket_path(state_dir, i).c_str());
  };
  std::unique_ptr<vm::Vm> machine;
  // Held for the supervisor's life: a second supervisor of the VM fails
  // here, before it touches anything of the first (console log, tap, record).
  std::optional<FileLock> running;
  std::optional<Owner> owner;
  try {
    Json spec = Json::parse(fs::read_file(spec_path), nullptr, false);
    if (!spec.is_object()) fail(ErrorKind::invalid_input, "malformed supervisor spec " + spec_path);
    vm::check_keys(spec, {"vm", "tap", "owner"}, "supervisor spec " + spec_path);
    vm::Spec vs = vm::spec_from_json(spec["vm"]);
    name = vs.name;
    state_dir = vs.state_dir;
    spdlog::info("supervisor for VM '{}' (pid {})", name, getpid());
    long long address = 0;
    if (spec.contains("tap")) {
      vm::check_keys(spec["tap"], {"address"}, "supervisor spec " + spec_path + ": tap");
      address = spec["tap"].value("address", 0LL);
    }
    running.emplace(state_dir + "/supervisor.lock", "VM '" + name + "'", false);
    owner.emplace(spec.value("owner", Json()));
    // Recorded before the tap exists, so a reconcile meanwhile keeps it.
    update_record(name, {{"state", "starting"}, {"supervisor_pid", getpid()}, {"lost_pause", nullptr}});
    net = setup_network(name, address, vs);
    mount_count = vs.mounts.size();
    virtiofsd = start_virtiofs(vs);
    if (!virtiofsd.empty()) {
      Json pids = Json::array();
      for (auto& p : virtiofsd) pids.push_back(p.pid());
      update_record(name, {{"virtiofsd_pids", pids}});
    }
    machine = vm::start(vs);
  } catch (const Error& e) {
    spdlog::error("{}", e.message());
    virtiofsd.clear();
    remove_mount_sockets();
    if (running) {
      teardown_network(name, net);
      try {
        update_record(name, {{"state", "stopped"}, {"supervisor_pid", nullptr}, {"virtiofsd_pids", nullptr}});
      } catch (const Error&) {
      }
    }
    write_status(
        status_fd,
        "error " + Json{{"kind", kind_name(e.kind())}, {"message", e.message()}, {"hint", e.hint()}}.dump());
    ::close(status_fd);
    return 1;
  }

  std::string sock = state_dir + "/" + kControlSocket;
  int listen_fd = -1;
  int code = 0;
  try {
    listen_fd = listen_control(sock);
    proto::Hello agent_hello;
    agent_hello.software = machine->info().agent;
    agent_hello.capabilities = machine->info().capabilities;
    Router router(machine->channel(), agent_hello);
    router.on_info = [&] { return info_json(*machine, net).dump(); };
    router.on_stop = [&](bool now) {
      g_stop_now = g_stop_now || now;
      g_stop = true;
    };
    VmmControl control{*machine, [&](const Json& fields) { update_record(name, fields); }, {}};
    if (!net.tap.empty())
      control.set_tap_egress = [&](const net::EgressPolicy& p) { set_tap_egress(name, net, p); };
    router.on_control = [&](const std::string& request) { return control.handle(request); };
    router.is_paused = [&] { return machine->paused(); };
    Json info = info_json(*machine, net);
    update_record(name, {{"state", "running"},
                         {"supervisor_pid", getpid()},
                         {"qemu_pid", machine->info().pid},
                         {"ip", net.ip.empty() ? Json() : Json(net.ip)},
                         {"accel", machine->info().accel},
                         // Restored once: later starts boot its disk.
                         {"restore_pending", nullptr}});
    write_status(status_fd, "ready " + info.dump());
    ::close(status_fd);
    status_fd = -1;

    while (!g_stop && machine->running()) {
      if (owner->gone()) {
        spdlog::info("VM '{}': its owner (pid {}) is gone: stopping it", name, owner->pid());
        g_stop_now = g_stop_now || owner->remove();
        break;
      }
      try {
        router.poll_once(listen_fd, std::chrono::milliseconds(200));
      } catch (const Error& e) {
        // The agent channel broke: the guest is gone or misbehaving.
        spdlog::error("VM '{}': {}", name, e.message());
        break;
      }
    }
    try {
      // `vm start` waits for a stopping VM instead of calling it running.
      update_record(name, {{"state", "stopping"}});
    } catch (const Error& e) {
      spdlog::error("{}", e.message());
    }
    if (machine->running()) {
      spdlog::info("VM '{}': stopping", name);
      // A clean power-off (sync, unmount) unless the disk is being thrown away.
      machine->stop(g_stop_now ? std::chrono::milliseconds(0) : std::chrono::milliseconds(10000));
    }
    router.close_all();
  } catch (const Error& e) {
    spdlog::error("VM '{}': {}", name, e.message());
    write_status(
        status_fd,
        "error " + Json{{"kind", kind_name(e.kind())}, {"message", e.message()}, {"hint", e.hint()}}.dump());
    code = 1;
    if (machine) machine->stop();
  }
  if (listen_fd >= 0) ::close(listen_fd);
  ::unlink(sock.c_str());
  virtiofsd.clear();  // QEMU is gone: they would exit on their own, a moment later
  remove_mount_sockets();
  teardown_network(name, net);
  try {
    update_record(name, {{"state", "stopped"},
                         {"supervisor_pid", nullptr},
                         {"qemu_pid", nullptr},
                         {"virtiofsd_pids", nullptr}});
  } catch (const Error& e) {
    spdlog::error("{}", e.message());
  }
  spdlog::info("VM '{}': stopped", name);
  if (status_fd >= 0) ::close(status_fd);
  if (owner->gone() && owner->remove()) {
    running.reset();
    exec_remove(name);
  }
  return code;
}

}  // namespace banger::supervisor
