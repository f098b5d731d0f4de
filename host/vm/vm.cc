#include "host/vm/vm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/core/tsc.h"
#include "host/net/port_proxy.h"
#include "host/net/user_net.h"
#include "host/vm/console.h"
#include "host/vm/qemu_command.h"
#include "host/vm/snapshot.h"
#include "proto/flow.h"

namespace banger::vm {

namespace {

// What a user can do about a missing or foreign agent: an image pull (or
// build) by this banger installs its agent.
constexpr const char* kAgentMismatchHint =
    "the image's agent is not this banger's: pull the image again ('banger image rm NAME', then "
    "'banger image pull')";
constexpr const char* kBootHint =
    "check the kernel and initrd (pull the kernel again), and that the image was pulled by banger "
    "(a pull installs its agent)";

using namespace std::chrono_literals;
using proto::Type;

const char* kVersionString = "banger 0.1.0";

proto::Hello host_hello() {
  proto::Hello h;
  h.software = kVersionString;
  h.capabilities = {proto::kCapExec,   proto::kCapStdin,    proto::kCapTty,
                    proto::kCapSignal, proto::kCapPoweroff, proto::kCapCredit};
  return h;
}

std::string describe_status(int status) {
  if (status > 128) return "was killed by signal " + std::to_string(status - 128);
  return "exited with status " + std::to_string(status);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

net::UserNetConfig user_net_config(const NetSpec& n, const std::string& state_dir) {
  net::UserNetConfig c;
  c.egress = net::parse_egress(n.egress, n.add_hosts, n.egress_hook, n.egress_hook_name);
  c.net_log = state_dir + "/net.log";
  for (const auto& f : n.forwards)
    c.forwards.push_back({f.proto == "udp", f.host_addr, f.host_port, f.guest_port});
  for (const auto& h : n.allow_host) c.host_ports.push_back(h.port);  // TCP only: check_spec
  return c;
}

std::vector<net::TcpForward> tap_forwards(const NetSpec& n) {
  std::string guest = n.address.substr(0, n.address.find('/'));
  std::vector<net::TcpForward> out;
  for (const auto& f : n.forwards) out.push_back({f.host_addr, f.host_port, guest, f.guest_port});
  return out;
}

}  // namespace

Vm::Vm(const Spec& spec, Info info, Process qemu, std::unique_ptr<AgentChannel> channel)
    : spec_(spec), info_(std::move(info)), qemu_(std::move(qemu)), channel_(std::move(channel)) {}

Vm::~Vm() {
  if (qemu_.running()) {
    spdlog::debug("vm {}: killing QEMU (pid {})", info_.name, info_.pid);
    qemu_.signal(SIGKILL);
    qemu_.wait();
  }
  // The guest's RAM means nothing once QEMU is gone (a snapshot copied it).
  if (spec_.restore.memory.empty()) ::unlink(memory_file_path(spec_.state_dir).c_str());
}

bool Vm::running() { return qemu_.running(); }

void Vm::fail_vm(const std::string& what, const std::string& hint) {
  if (qemu_.running()) {
    qemu_.signal(SIGKILL);
    qemu_.wait();
  }
  fail(ErrorKind::io, "VM " + info_.name + ": " + what + console_report(info_.console_log, info_.qemu_log),
       hint);
}

ExecResult Vm::exec(const ExecRequest& req, size_t max_output) {
  ExecResult r;
  StreamIO io;
  auto sink = [&](std::string& to, const char* name) {
    return [&to, name, max_output, this](std::string_view data) {
      if (to.size() + data.size() > max_output)
        fail(ErrorKind::io,
             "VM " + info_.name + ": the command's " + name + " exceeds " + std::to_string(max_output >> 20) +
                 " MiB",
             "stream the output instead of capturing it");
      to.append(data);
    };
  };
  io.on_stdout = sink(r.out, "stdout");
  io.on_stderr = sink(r.err, "stderr");
  static_cast<ExecStatus&>(r) = exec_stream(req, io);
  return r;
}

ExecResult Vm::exec_stream(const ExecRequest& req, const StreamIO& io) {
  if (req.argv.empty()) fail(ErrorKind::invalid_input, "exec: empty command");
  if (!qemu_.running() || channel_->closed())
    fail(ErrorKind::invalid_input, "VM " + info_.name + " is not running",
         "start it again (banger vm start)");
  // Flow control, when the agent serves it (proto/flow.h): output is granted
  // back once the callbacks took it; stdin goes out as the agent grants.
  const bool credit = std::find(info_.capabilities.begin(), info_.capabilities.end(), proto::kCapCredit) !=
                      info_.capabilities.end();
  ExecSession session(next_id_++, req, io.stdin_fd >= 0, credit,
                      "VM " + info_.name + ": running " + req.argv[0]);
  auto send = [&](const proto::Frame& f, std::chrono::milliseconds timeout) {
    channel_->send(f.type, f.id, f.payload, Clock::now() + timeout);
  };
  send(session.start(), 10s);

  // A caller that stops listening (a callback threw, Ctrl-C) takes the guest
  // command down too: left alone it would wait for credit for ever.
  auto kill_command = [&] {
    try {
      send(session.signal(SIGKILL), 1s);
    } catch (const Error&) {
    }
  };
  auto vm_gone = [&] {
    fail_vm("the VM " + describe_status(qemu_.wait()) + " while running " + req.argv[0],
            "the console shows what happened in the guest");
  };
  int in = io.stdin_fd;
  while (true) {
    try {
      check_interrupted();
    } catch (...) {
      kill_command();
      throw;
    }
    while (true) {
      std::optional<proto::Frame> f;
      try {
        f = channel_->receive(0ms);
      } catch (const Error& e) {
        qemu_.wait_for(2s);
        if (!qemu_.running()) vm_gone();
        fail_vm(e.message(), e.hint());
      }
      if (!f) break;
      ExecEvent ev;
      try {
        ev = session.feed(std::move(*f));
      } catch (const proto::ProtocolError& x) {
        fail_vm(std::string("agent protocol error: ") + x.what(), kAgentMismatchHint);
      }
      if (ev.kind == ExecEvent::Kind::exited) {
        ExecResult r;
        static_cast<ExecStatus&>(r) = ev.status;
        return r;
      }
      if (ev.kind != ExecEvent::Kind::output) continue;
      try {
        const auto& to = ev.from_stderr ? io.on_stderr : io.on_stdout;
        if (to) to(ev.data);
      } catch (...) {
        kill_command();
        throw;
      }
      if (auto grant = session.delivered(ev.data.size())) send(*grant, 10s);
    }
    bool want_input = in >= 0 && session.stdin_room() > 0;
    pollfd p[2] = {{channel_->fd(), POLLIN, 0}, {in, POLLIN, 0}};
    poll(p, want_input ? 2 : 1, 100);
    if (want_input && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[proto::kDataChunk];
      ssize_t n = ::read(in, buf, std::min(sizeof buf, session.stdin_room()));
      if (n > 0) {
        send(session.stdin_data(std::string(buf, n)), 30s);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        send(session.stdin_eof(), 10s);
        in = -1;
      }
    }
    if (!qemu_.running()) vm_gone();
  }
}

void Vm::pause() {
  if (paused_) return;
  qmp_->execute("stop");
  paused_ = true;
}

void Vm::set_egress(const std::vector<std::string>& rules, const std::vector<std::string>& add_hosts,
                    const std::string& hook, const std::string& hook_name) {
  net::EgressPolicy p = net::parse_egress(rules, add_hosts, hook, hook_name);
  if (!user_net_)
    fail(ErrorKind::unsupported, "VM " + info_.name + " is not on user networking: its egress cannot be set",
         "egress policies work in user networking only for now");
  user_net_->set_egress(std::move(p));
  spec_.net.egress = rules;
  spec_.net.add_hosts = add_hosts;
  spec_.net.egress_hook = hook;
  spec_.net.egress_hook_name = hook_name;
}

void Vm::resume() {
  if (!paused_) return;
  qmp_->execute("cont");
  paused_ = false;
}

int Vm::stop(std::chrono::milliseconds grace) {
  if (!qemu_.running()) return qemu_.wait();
  if (paused_ && grace.count() > 0) {
    try {
      resume();
    } catch (const Error& e) {
      spdlog::warn("vm {}: resuming before the power-off: {}", info_.name, e.message());
    }
  }
  if (!channel_->closed()) {
    try {
      channel_->send(Type::poweroff, 0, proto::Poweroff{}.encode(), Clock::now() + 1s);
    } catch (const Error& e) {
      spdlog::debug("vm {}: poweroff request: {}", info_.name, e.message());
    }
    if (auto st = qemu_.wait_for(grace)) return *st;
    spdlog::warn("vm {}: the guest did not power off within {} ms; terminating QEMU", info_.name,
                 grace.count());
  }
  qemu_.signal(SIGTERM);
  if (auto st = qemu_.wait_for(3s)) return *st;
  qemu_.signal(SIGKILL);
  return qemu_.wait();
}

std::optional<int> Vm::wait(std::optional<std::chrono::milliseconds> timeout) {
  if (!timeout) return qemu_.wait();
  return qemu_.wait_for(*timeout);
}

void check_restore(const Spec& spec, const AccelChoice& accel) {
  const RestoreSpec& r = spec.restore;
  const std::string hint =
      "take a new snapshot of a VM started by this banger (banger vm snapshot), or remove "
      "this one (banger snapshot rm " +
      r.snapshot + ")";
  if (!fs::exists(r.state) || (!r.memory.empty() && !fs::exists(r.memory)))
    fail(ErrorKind::not_found, "snapshot '" + r.snapshot + "' is incomplete: " + r.state + " is missing",
         hint);
  if (shape_digest(spec, accel) != r.shape_digest)
    fail(ErrorKind::conflict,
         "snapshot '" + r.snapshot +
             "' was saved with another VM command line (kernel, initrd, cpus, memory, "
             "network mode, accelerator or devices differ): it cannot be restored here",
         hint);
}

void Vm::start_incoming() {
  const RestoreSpec& r = spec_.restore;
  info_.restored_from = r.snapshot;
  std::string version = qemu_version(*qmp_);
  if (version != r.qemu_version)
    fail_vm("snapshot '" + r.snapshot + "' was saved by QEMU " + r.qemu_version + ", this is QEMU " +
                version + ": QEMU cannot restore another version's state",
            "take a new snapshot with this QEMU (banger vm snapshot), or remove it (banger snapshot rm " +
                r.snapshot + ")");
  try {
    qmp_->execute(
        "migrate-set-capabilities",
        {{"capabilities", nlohmann::json::array({{{"capability", "x-ignore-shared"}, {"state", true}}})}});
    if (r.state.find('\'') != std::string::npos) fail(ErrorKind::invalid_input, "quote in " + r.state);
    auto t0 = Clock::now();
    qmp_->execute("migrate-incoming", {{"uri", "exec:cat '" + r.state + "'"}});
    // QEMU loads the state and stays paused (-incoming defer): wait, then cont.
    for (;;) {
      check_interrupted();
      nlohmann::json m = qmp_->execute("query-migrate");
      std::string status = m.value("status", std::string());
      if (status == "completed") break;
      if (status == "failed" || status == "cancelled")
        fail(ErrorKind::io, "loading its state failed: " + m.value("error-desc", status));
      if (Clock::now() - t0 > spec_.ready_timeout)
        fail(ErrorKind::io, "loading its state did not finish within " +
                                std::to_string(spec_.ready_timeout.count() / 1000) + " s");
      std::this_thread::sleep_for(1ms);
    }
    qmp_->execute("cont");
    info_.restore_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  } catch (const Error& e) {
    if (qemu_.wait_for(1s))
      fail_vm("restoring snapshot '" + r.snapshot + "': QEMU " + describe_status(qemu_.wait()) +
                  " while loading its state",
              "see the VM's qemu.log");
    fail_vm("restoring snapshot '" + r.snapshot + "': " + e.message(), "see the VM's qemu.log");
  }
}

void Vm::send_identity() {
  if (std::find(info_.capabilities.begin(), info_.capabilities.end(), proto::kCapIdentity) ==
      info_.capabilities.end())
    fail_vm("the restored agent cannot take a new identity (clock, RNG, hostname, network)",
            kAgentMismatchHint);
  proto::Identity id;
  id.unix_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  id.entropy.resize(64);
  if (getrandom(id.entropy.data(), id.entropy.size(), 0) != static_cast<ssize_t>(id.entropy.size()))
    fail_errno("getrandom");
  id.hostname = spec_.name;
  if (spec_.net.mode == "tap") {
    id.address = spec_.net.address;
    id.gateway = spec_.net.gateway;
    id.mac = spec_.net.mac;
  }
  constexpr uint32_t kId = 1;
  channel_->send(Type::identity, kId, id.encode(), Clock::now() + 2s);
  auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline) {
    std::optional<proto::Frame> f;
    try {
      f = channel_->receive(100ms);
    } catch (const Error& e) {
      fail_vm("after the restore: " + e.message(), e.hint());
    }
    if (!f || f->id != kId) continue;
    if (f->type == Type::identity) {
      info_.hostname = id.hostname;
      return;
    }
    if (f->type == Type::error) {
      proto::Failure x;
      try {
        x = proto::Failure::decode(f->payload);
      } catch (const proto::ProtocolError& e) {
        x.message = e.what();
      }
      fail_vm("the restored guest could not take its new identity: " + x.message, kAgentMismatchHint);
    }
  }
  fail_vm("the restored guest did not confirm its new identity within 20 s", "see the VM's console.log");
}

std::unique_ptr<Vm> start(const Spec& spec) {
  check_spec(spec);
  if (!find_executable(spec.qemu))
    fail(ErrorKind::not_found, spec.qemu + " not found", "apt-get install qemu-system-x86");
  if (!find_executable("qemu-img"))
    fail(ErrorKind::not_found, "qemu-img not found", "apt-get install qemu-utils");
  fs::make_dirs(spec.state_dir);

  Info info;
  info.name = spec.name;
  info.state_dir = spec.state_dir;
  info.console_log = spec.state_dir + "/console.log";
  info.qemu_log = spec.state_dir + "/qemu.log";
  info.qmp_socket = qmp_socket_path(spec.state_dir);
  info.overlay = spec.overlay.empty() ? default_overlay(spec.state_dir) : spec.overlay;
  if (!fs::exists(info.overlay)) create_overlay(spec.rootfs, info.overlay, spec.name);

  AccelChoice accel = choose_accel(spec.accel, accel_from_env(), probe_accel());
  info.accel = accel.accel;
  info.accel_reason = accel.reason;
  spdlog::info("vm {}: accelerator {} ({})", spec.name, accel.accel, accel.reason);

  // The agent channel is a socketpair: QEMU gets one end as an already
  // connected chardev, so nothing the guest says can be lost before we
  // connect, and no socket path (length limits, stale files) is involved.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail_errno("socketpair");
  auto channel = std::make_unique<AgentChannel>(sv[0]);
  Fd qemu_end{sv[1]};
  fcntl(qemu_end.fd, F_SETFD, 0);  // inherited by QEMU

  // Forwards bind before QEMU starts, so a taken port fails fast and clean.
  std::unique_ptr<net::UserNet> user_net;
  std::unique_ptr<net::PortProxy> port_proxy;
  if (spec.net.mode == "user")
    user_net = std::make_unique<net::UserNet>(user_net_config(spec.net, spec.state_dir));
  if (spec.net.mode == "tap" && !spec.net.forwards.empty())
    port_proxy = std::make_unique<net::PortProxy>(tap_forwards(spec.net));

  const RestoreSpec& restore = spec.restore;
  if (!restore.state.empty()) check_restore(spec, accel);
  QemuFiles files{info.console_log, info.overlay, qemu_end.fd, user_net ? user_net->qemu_fd() : -1,
                  info.qmp_socket};
  files.memory_file = restore.memory.empty() ? memory_file_path(spec.state_dir) : restore.memory;
  files.memory_private = !restore.memory.empty();
  if (!files.memory_private) ::unlink(files.memory_file.c_str());  // a killed VM's
  ::unlink(info.console_log.c_str());
  ::unlink(info.qmp_socket.c_str());  // a stale one from a VM that was killed
  info.qemu_argv = qemu_argv(spec, accel, files, accel.accel == "tcg" ? host_tsc_khz() : 0);
  Fd log{::open(info.qemu_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  Fd null{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  if (log.fd < 0) fail_errno("opening " + info.qemu_log);

  SpawnOptions so;
  so.argv = info.qemu_argv;
  so.stdin_fd = null.fd;
  so.stdout_fd = log.fd;
  so.stderr_fd = log.fd;
  so.new_session = true;  // our Ctrl-C unwinds through stop(), not straight into QEMU
  auto t0 = Clock::now();
  Process qemu = Process::spawn(so);
  ::close(qemu_end.fd);
  qemu_end.fd = -1;
  info.pid = qemu.pid();
  spdlog::debug("vm {}: QEMU pid {}", spec.name, info.pid);

  if (user_net) user_net->start();
  auto vm = std::make_unique<Vm>(spec, info, std::move(qemu), nullptr);
  vm->user_net_ = std::move(user_net);
  vm->port_proxy_ = std::move(port_proxy);
  // The Vm owns QEMU from here on: any throw below kills it.
  vm->channel_ = std::move(channel);
  AgentChannel& ch = *vm->channel_;
  try {
    vm->qmp_.emplace(Qmp::connect(info.qmp_socket, spec.name, Clock::now() + 10s));
  } catch (const Error& e) {
    vm->qemu_.wait_for(1s);
    if (!vm->qemu_.running())
      vm->fail_vm("QEMU " + describe_status(vm->qemu_.wait()) + " at start", kBootHint);
    vm->fail_vm(e.message(), e.hint());
  }
  if (!restore.state.empty()) vm->start_incoming();
  const proto::Hello mine = host_hello();
  ch.send(Type::hello, 0, mine.encode(), Clock::now() + 1s);

  auto deadline = t0 + spec.ready_timeout;
  bool have_hello = false, have_ready = false;
  while (!have_ready || !have_hello) {
    check_interrupted();
    std::optional<proto::Frame> f;
    try {
      f = ch.receive(100ms);
    } catch (const Error& e) {
      // The channel closes a moment before QEMU exits: give it time to.
      vm->qemu_.wait_for(2s);
      if (!vm->qemu_.running())
        vm->fail_vm("QEMU " + describe_status(vm->qemu_.wait()) + " before the agent was ready", kBootHint);
      vm->fail_vm(e.message(), e.hint());
    }
    if (f) {
      if (f->type == Type::hello) {
        try {
          auto theirs = proto::Hello::decode(f->payload);
          proto::negotiate(mine, theirs);
          if (!have_hello) {
            vm->info_.agent = theirs.software;
            vm->info_.capabilities = theirs.capabilities;
            // Our first Hello may have reached the port before the agent opened it.
            ch.send(Type::hello, 0, mine.encode(), Clock::now() + 1s);
          }
          have_hello = true;
        } catch (const proto::ProtocolError& e) {
          vm->fail_vm(std::string("agent handshake: ") + e.what(), kAgentMismatchHint);
        }
      } else if (f->type == Type::ready) {
        try {
          auto r = proto::Ready::decode(f->payload);
          if (!have_ready) {
            vm->info_.boot.kernel_to_init_ms = r.kernel_to_init_ms;
            vm->info_.boot.init_to_ready_ms = r.init_to_ready_ms;
            vm->info_.boot.guest_uptime_ms = r.uptime_ms;
            vm->info_.boot.host_ready_ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
            vm->info_.mode = r.mode;
            vm->info_.hostname = r.hostname;
            vm->info_.kernel = r.kernel;
          }
          have_ready = true;
        } catch (const proto::ProtocolError& e) {
          vm->fail_vm(std::string("agent ready message: ") + e.what(), kAgentMismatchHint);
        }
      } else if (f->type == Type::error && f->id == 0) {
        proto::Failure x;
        try {
          x = proto::Failure::decode(f->payload);
        } catch (const proto::ProtocolError& e) {
          x.message = e.what();
        }
        if (x.message.rfind("protocol version mismatch", 0) == 0)
          vm->fail_vm("the agent refused the connection: " + x.message, kAgentMismatchHint);
        // Our first Hello can reach the port half-discarded while the agent
        // opens it; the agent then resyncs, so say Hello again.
        spdlog::debug("vm {}: agent: {}; saying hello again", spec.name, x.message);
        ch.send(Type::hello, 0, mine.encode(), Clock::now() + 1s);
      }
      continue;
    }
    if (!vm->qemu_.running())
      vm->fail_vm("QEMU " + describe_status(vm->qemu_.wait()) + " before the agent was ready", kBootHint);
    if (Clock::now() > deadline)
      vm->fail_vm(
          "the agent did not report ready within " + std::to_string(spec.ready_timeout.count() / 1000) + " s",
          "the console shows how far the boot got; without KVM a boot takes several "
          "seconds, so a busy machine may need a longer timeout");
  }
  if (!restore.state.empty()) vm->send_identity();
  if (!restore.state.empty())
    spdlog::info("vm {}: restored from snapshot '{}': state loaded in {} ms, agent ready after {} ms",
                 spec.name, restore.snapshot, vm->info_.restore_ms, vm->info_.boot.host_ready_ms);
  else
    spdlog::info("vm {}: agent ready after {} ms (guest: kernel {} ms, init {} ms)", spec.name,
                 vm->info_.boot.host_ready_ms, vm->info_.boot.kernel_to_init_ms,
                 vm->info_.boot.init_to_ready_ms);
  return vm;
}

}  // namespace banger::vm
