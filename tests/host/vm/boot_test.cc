// Real boots under QEMU (TCG here; KVM where it works): Debian's cloud
// kernel, an initramfs with the agent as /init, a busybox rootfs.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "host/core/error.h"
#include "host/vm/vm.h"
#include "tests/host/vm/vm_fixture.h"

using namespace banger;
using namespace banger::vm;
using namespace banger::vm::testing;
using namespace std::chrono_literals;

namespace {

bool alive(pid_t pid) { return kill(pid, 0) == 0; }

ExecResult run(Vm& vm, std::vector<std::string> argv) {
  ExecRequest r;
  r.argv = std::move(argv);
  return vm.exec(r);
}

// Starts a VM that must fail; returns the error, checking it came in time and
// left no QEMU behind.
Error start_failure(const Spec& spec, std::chrono::seconds within) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    auto vm = start(spec);
    FAIL("the VM started");
  } catch (const Error& e) {
    CHECK(std::chrono::steady_clock::now() - t0 < within);
    CHECK(qemu_processes(spec.state_dir).empty());
    return e;
  }
  throw std::logic_error("unreachable");
}

// Sends raw frames for request `id` and collects the answers up to `last`
// (or an error).
std::vector<proto::Frame> raw_request(Vm& vm, const std::vector<std::pair<proto::Type, std::string>>& frames,
                                      uint32_t id, proto::Type last) {
  for (const auto& [t, p] : frames) vm.channel().send(t, id, p, Clock::now() + 5s);
  std::vector<proto::Frame> got;
  auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    auto f = vm.channel().receive(100ms);
    if (!f || f->id != id) continue;
    got.push_back(*f);
    if (f->type == last || f->type == proto::Type::error) break;
  }
  return got;
}

}  // namespace

TEST_CASE("vm boot: the agent reports ready and runs commands", "[vm]") {
  WorkDir w;
  std::string agent = agent_binary();
  Spec spec = test_spec(w.path, build_initrd(w.path, agent), build_rootfs(w.path, agent));
  auto vm = start(spec);
  const Info& info = vm->info();
  CHECK(info.agent == "banger-agent 0.1.0");
  CHECK(info.mode == "pid1");
  CHECK(info.hostname == spec.name);
  CHECK(info.kernel == test_kernel().version);
  CHECK(info.boot.kernel_to_init_ms > 0);
  CHECK(info.boot.guest_uptime_ms >= info.boot.kernel_to_init_ms);
  CHECK(info.boot.host_ready_ms > 0);
  WARN("boot: host " << info.boot.host_ready_ms << " ms, guest kernel->init " << info.boot.kernel_to_init_ms
                     << " ms, init->ready " << info.boot.init_to_ready_ms << " ms, accel " << info.accel
                     << " (" << info.accel_reason << ")");
  CHECK(fs::exists(spec.state_dir + "/disk.qcow2"));

  auto os = run(*vm, {"cat", "/etc/os-release"});
  CHECK(os.exit_code == 0);
  CHECK(os.out.find("PRETTY_NAME=\"banger test rootfs\"") != std::string::npos);
  CHECK(os.err.empty());

  auto seven = run(*vm, {"sh", "-c", "echo out; echo err >&2; exit 7"});
  CHECK(seven.exit_code == 7);
  CHECK(seven.out == "out\n");
  CHECK(seven.err == "err\n");

  auto missing = run(*vm, {"no-such-command", "x"});
  CHECK(missing.exit_code == 127);
  CHECK(missing.err == "banger-agent: no-such-command: command not found\n");

  auto killed = run(*vm, {"sh", "-c", "kill -9 $$"});
  CHECK(killed.exit_code == 137);
  CHECK(killed.signal == 9);

  ExecRequest env;
  env.argv = {"sh", "-c", "echo $FOO:$HOME:$(pwd):$(id -u)"};
  env.env = {"FOO=bar"};
  env.cwd = "/etc";
  CHECK(vm->exec(env).out == "bar:/root:/etc:0\n");
  env.user = "nobody";
  env.cwd = "/";
  CHECK(vm->exec(env).out == "bar:/nonexistent:/:65534\n");

  // The guest's own view: mounts, hostname, network from the command line.
  auto sys =
      run(*vm, {"sh", "-c", "hostname; cat /proc/mounts | cut -d' ' -f2 | tr '\\n' ' '; ip -4 addr show"});
  CHECK(sys.out.find(spec.name + "\n") == 0);
  CHECK(sys.out.find("/dev/pts") != std::string::npos);
  CHECK(sys.out.find("10.0.2.15/24") != std::string::npos);

  // Large output streams through intact (several frames, flow control).
  auto big = run(*vm, {"sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' 'a'"});
  CHECK(big.exit_code == 0);
  CHECK(big.out.size() == 3000000);
  CHECK(big.out.find_first_not_of('a') == std::string::npos);

  // stdin is piped through, EOF included.
  int p[2];
  REQUIRE(pipe(p) == 0);
  REQUIRE(write(p[1], "one\ntwo\n", 8) == 8);
  close(p[1]);
  std::string got;
  StreamIO io;
  io.stdin_fd = p[0];
  io.on_stdout = [&](std::string_view d) { got.append(d); };
  ExecRequest wc;
  wc.argv = {"wc", "-l"};
  auto wr = vm->exec_stream(wc, io);
  close(p[0]);
  CHECK(wr.exit_code == 0);
  CHECK(got.find("2") != std::string::npos);

  // A large stdin for a command that reads it late all arrives: the agent
  // grants it in windows instead of buffering it (or refusing past a limit).
  fs::write_file(w.path + "/stdin.bin", std::string(8 << 20, 'x'));
  int big_in = ::open((w.path + "/stdin.bin").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(big_in >= 0);
  got.clear();
  io.stdin_fd = big_in;
  ExecRequest late;
  late.argv = {"sh", "-c", "sleep 2; wc -c"};
  auto lr = vm->exec_stream(late, io);
  close(big_in);
  CHECK(lr.exit_code == 0);
  CHECK(got == "8388608\n");

  // A tty: the command sees a terminal.
  ExecRequest t;
  t.argv = {"sh", "-c", "tty; stty size"};
  t.tty = true;
  auto tr = vm->exec(t);
  CHECK(tr.out.find("/dev/pts/") != std::string::npos);
  CHECK(tr.out.find("24 80") != std::string::npos);

  // Files both ways, listening ports and stats, straight over the channel.
  using proto::Type;
  std::string content(200000, 'q');
  content += "end";
  std::vector<std::pair<Type, std::string>> put = {
      {Type::file_put, proto::FilePut{"/root/up.txt", 0640, 65534, 65534, content.size()}.encode()}};
  for (size_t off = 0; off < content.size(); off += proto::kDataChunk)
    put.push_back({Type::file_data, content.substr(off, proto::kDataChunk)});
  put.push_back({Type::file_end, ""});
  auto put_reply = raw_request(*vm, put, 9001, Type::file_end);
  REQUIRE(put_reply.size() == 1);
  CHECK(put_reply[0].type == Type::file_end);
  CHECK(run(*vm, {"sh", "-c",
                  "wc -c < /root/up.txt; ls -ln /root/up.txt | cut -c1-10; "
                  "ls -ln /root/up.txt | tr -s ' ' | cut -d' ' -f3,4"})
            .out == "200003\n-rw-r-----\n65534 65534\n");
  auto get =
      raw_request(*vm, {{Type::file_get, proto::FileGet{"/root/up.txt"}.encode()}}, 9002, Type::file_end);
  REQUIRE(get.size() >= 3);
  CHECK(get.front().type == Type::file_info);
  CHECK(proto::FileInfo::decode(get.front().payload).size == content.size());
  std::string back;
  for (const auto& f : get)
    if (f.type == Type::file_data) back += f.payload;
  CHECK(back == content);
  CHECK(get.back().type == Type::file_end);
  auto missing_get =
      raw_request(*vm, {{Type::file_get, proto::FileGet{"/nope"}.encode()}}, 9003, Type::file_end);
  REQUIRE(missing_get.size() == 1);
  CHECK(missing_get[0].type == Type::error);
  CHECK(proto::Failure::decode(missing_get[0].payload).message == "copying /nope: No such file or directory");
  auto bad_put = raw_request(
      *vm, {{Type::file_put, proto::FilePut{"/no/such/dir/f", 0644, 0, 0, 0}.encode()}, {Type::file_end, ""}},
      9004, Type::file_end);
  REQUIRE(bad_put.size() == 1);
  CHECK(bad_put[0].type == Type::error);

  ExecRequest server;
  server.argv = {"sh", "-c", "busybox nc -l -p 8080 >/dev/null 2>&1 & sleep 0.5; echo started"};
  CHECK(vm->exec(server).out == "started\n");
  auto ports = raw_request(*vm, {{Type::ports_request, ""}}, 9005, Type::ports);
  REQUIRE(ports.size() == 1);
  REQUIRE(ports[0].type == Type::ports);
  bool found = false;
  for (const auto& p : proto::Ports::decode(ports[0].payload).ports)
    if (p.port == 8080 && p.proto.rfind("tcp", 0) == 0) found = true;
  CHECK(found);
  auto stats = raw_request(*vm, {{Type::stats_request, ""}}, 9006, Type::stats);
  REQUIRE(stats.size() == 1);
  auto st = proto::Stats::decode(stats[0].payload);
  CHECK(st.mem_total_kib > 100000);
  CHECK(st.mem_available_kib > 0);
  CHECK(st.processes > 0);

  // A signal reaches the command's process group; a tty resizes.
  proto::Exec sleeper;
  sleeper.argv = {"sh", "-c", "sleep 100"};
  vm->channel().send(Type::exec, 9007, sleeper.encode(), Clock::now() + 5s);
  auto started = raw_request(*vm, {}, 9007, Type::exec_started);
  REQUIRE(started.size() == 1);
  CHECK(started[0].type == Type::exec_started);
  auto exited = raw_request(*vm, {{Type::signal, proto::Signal{SIGTERM}.encode()}}, 9007, Type::exit);
  REQUIRE(exited.size() == 1);
  auto ex = proto::Exit::decode(exited[0].payload);
  CHECK(ex.signal == SIGTERM);
  CHECK(ex.code == 128 + SIGTERM);
  proto::Exec resize;
  resize.argv = {"sh", "-c", "read x; stty size"};
  resize.tty = true;
  resize.stdin = true;
  vm->channel().send(Type::exec, 9008, resize.encode(), Clock::now() + 5s);
  auto tty_out =
      raw_request(*vm, {{Type::window_size, proto::WindowSize{33, 111}.encode()}, {Type::stdin_data, "go\n"}},
                  9008, Type::exit);
  std::string tty_text;
  for (const auto& f : tty_out)
    if (f.type == Type::stdout_data) tty_text += f.payload;
  CHECK(tty_text.find("33 111") != std::string::npos);

  // Output past exec()'s cap is an error, and the command does not linger
  // in the guest waiting for credit nobody will grant.
  ExecRequest flood;
  flood.argv = {"head", "-c", "8388608", "/dev/zero"};
  REQUIRE_THROWS_WITH(vm->exec(flood, 1 << 20), "VM " + spec.name + ": the command's stdout exceeds 1 MiB");
  std::this_thread::sleep_for(500ms);
  CHECK(run(*vm,
            {"sh", "-c",
             "for c in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $c; echo; done | grep -c '^head -c 8388608' "
             "|| true"})
            .out == "0\n");

  pid_t pid = info.pid;
  auto t0 = std::chrono::steady_clock::now();
  int status = vm->stop();
  CHECK(status == 0);  // the guest powered off: QEMU exited by itself
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK_FALSE(alive(pid));
  CHECK(qemu_processes(spec.state_dir).empty());
  REQUIRE_THROWS_WITH(run(*vm, {"true"}), "VM " + spec.name + " is not running");
}

TEST_CASE("vm boot: destroying a running VM's handle leaves no QEMU", "[vm]") {
  WorkDir w;
  std::string agent = agent_binary();
  Spec spec = test_spec(w.path, build_initrd(w.path, agent), build_rootfs(w.path, agent));
  pid_t pid;
  {
    auto vm = start(spec);
    pid = vm->info().pid;
    CHECK(alive(pid));
  }
  CHECK_FALSE(alive(pid));
  CHECK(qemu_processes(spec.state_dir).empty());
}

TEST_CASE("vm boot: a missing kernel fails before QEMU starts", "[vm]") {
  WorkDir w;
  Spec spec = test_spec(w.path, "/nonexistent/initrd", "/nonexistent/rootfs");
  spec.kernel = w.path + "/no-vmlinuz";
  Error e = start_failure(spec, 2s);
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() == "kernel " + w.path + "/no-vmlinuz: no such file");
}

TEST_CASE("vm boot: a missing QEMU is a clear error with the package to install", "[vm]") {
  WorkDir w;
  fs::write_file(w.path + "/f", "x");
  Spec spec = test_spec(w.path, w.path + "/f", w.path + "/f");
  spec.kernel = w.path + "/f";
  spec.qemu = "qemu-system-nonexistent";
  Error e = start_failure(spec, 2s);
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() == "qemu-system-nonexistent not found");
  CHECK(e.hint() == "apt-get install qemu-system-x86");
}

TEST_CASE("vm boot: a corrupt kernel fails fast with QEMU's words", "[vm]") {
  WorkDir w;
  std::string agent = agent_binary();
  Spec spec = test_spec(w.path, build_initrd(w.path, agent), build_rootfs(w.path, agent));
  std::string garbage;
  for (int i = 0; i < 200000; ++i) garbage.push_back(static_cast<char>((i * 7919) & 0xff));
  fs::write_file(w.path + "/vmlinuz", garbage);
  spec.kernel = w.path + "/vmlinuz";
  spec.ready_timeout = 20s;
  Error e = start_failure(spec, 25s);
  CHECK(e.kind() == ErrorKind::io);
  INFO(e.message());
  CHECK(e.message().find("VM " + spec.name + ": ") == 0);
  CHECK((e.message().find("console") != std::string::npos));
}

TEST_CASE("vm boot: a corrupt initrd panics the kernel and the error shows the panic", "[vm]") {
  WorkDir w;
  std::string agent = agent_binary();
  Spec spec = test_spec(w.path, "", build_rootfs(w.path, agent));
  fs::write_file(w.path + "/initrd.gz", std::string(4096, 'z'));
  spec.initrd = w.path + "/initrd.gz";
  spec.ready_timeout = 45s;
  Error e = start_failure(spec, 50s);
  INFO(e.message());
  CHECK(e.message().find("QEMU exited with status 0 before the agent was ready") != std::string::npos);
  CHECK(e.message().find("Kernel panic") != std::string::npos);
}

TEST_CASE("vm boot: an image without the agent says so", "[vm]") {
  WorkDir w;
  std::string agent = agent_binary();
  Spec spec = test_spec(w.path, build_initrd(w.path, agent), build_rootfs(w.path, ""));
  spec.ready_timeout = 45s;
  Error e = start_failure(spec, 50s);
  INFO(e.message());
  CHECK(e.message().find("before the agent was ready") != std::string::npos);
  CHECK(e.message().find("/.banger/agent is missing from the root filesystem") != std::string::npos);
  CHECK(e.hint().find("a pull installs its agent") != std::string::npos);
}

TEST_CASE("vm boot: an agent that never answers times out with the console tail", "[vm]") {
  WorkDir w;
  std::string agent = agent_binary();
  Spec spec = test_spec(w.path, build_initrd(w.path, agent),
                        build_rootfs(w.path, "", "#!/bin/sh\necho fake agent here\nexec sleep 1000\n"));
  // Run the image's (hung) agent rather than the initramfs's copy.
  spec.init = "/.banger/agent";
  spec.ready_timeout = 15s;
  Error e = start_failure(spec, 25s);
  INFO(e.message());
  CHECK(e.message().find("VM " + spec.name + ": the agent did not report ready within 15 s") == 0);
  CHECK(e.message().find("fake agent here") != std::string::npos);
}

TEST_CASE("vm boot: the agent serves as a service under the image's own init", "[vm]") {
  WorkDir w;
  std::string agent = agent_binary();
  std::string rootfs = build_rootfs(w.path, agent, "", [](const std::string& dir) {
    sh("mkdir -p '" + dir + "/sbin' && ln -s /bin/busybox '" + dir + "/sbin/init'");
    fs::write_file(dir + "/etc/inittab", "::respawn:/.banger/agent\n");
  });
  Spec spec = test_spec(w.path, build_initrd(w.path, agent), rootfs);
  spec.init = "/sbin/init";
  auto vm = start(spec);
  CHECK(vm->info().mode == "service");
  auto r = run(*vm, {"sh", "-c", "cat /proc/1/comm; echo $$"});
  CHECK(r.out.find("init\n") == 0);
  pid_t pid = vm->info().pid;
  CHECK(vm->stop() == 0);
  CHECK_FALSE(alive(pid));
}
