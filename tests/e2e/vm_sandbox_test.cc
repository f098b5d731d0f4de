// End to end under TCG: the sandbox commands of a running VM, through its
// supervisor, as a user runs them.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/net/relay.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/test_images.h"

using namespace banger;
using namespace banger::test;
using Json = nlohmann::json;

namespace {

// Runs banger on a pseudo-terminal, typing `input`, and returns what the
// terminal showed.
std::string run_on_pty(const SandboxHome& home, const std::vector<std::string>& args,
                       const std::string& input) {
  int master;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto env = home.env();
    for (const auto& [k, v] : env.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<std::string> argv = {banger_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  std::string seen;
  bool typed = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      char buf[4096];
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, n);
    }
    // Type once the guest shell shows a prompt.
    if (!typed && (seen.find("# ") != std::string::npos || seen.find("$ ") != std::string::npos)) {
      (void)!write(master, input.data(), input.size());
      typed = true;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      pid = -1;
      break;
    }
  }
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  close(master);
  return seen;
}

// A TCP service on the host that greets each connection and counts them:
// whether a guest reached it is read here, not inferred from the guest.
class HostGreeter {
 public:
  explicit HostGreeter(const std::string& addr)
      : fd_(net::tcp_listen(addr, 0)), stop_(eventfd(0, EFD_CLOEXEC)) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_, POLLIN, 0}};
      while (poll(p, 2, -1) >= 0 && !p[1].revents) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        ++connections_;
        (void)!write(c, "hello-from-host\n", 16);
        close(c);
      }
    });
  }
  ~HostGreeter() {
    uint64_t one = 1;
    (void)!write(stop_, &one, sizeof one);
    thread_.join();
    close(fd_);
    close(stop_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  int fd_, stop_, port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// What the guest reads from ADDR:PORT (perl, in Debian's minbase), or
// "no connection".
std::string guest_fetch(const SandboxHome& home, const std::string& vm, const std::string& addr, int port) {
  auto r = run_banger(
      {"vm", "exec", vm, "--", "perl", "-MIO::Socket::INET", "-e",
       "my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], Timeout => 5) or die qq(no connection\n); "
       "print scalar <$s>",
       addr + ":" + std::to_string(port)},
      home.env());
  return r.code == 0 ? r.out : "no connection";
}

// Starts a one-file HTTP server on the guest's port 8000 and fetches it from
// the host's 127.0.0.1:PORT (retrying while the server comes up).
std::string serve_and_fetch(const SandboxHome& home, const std::string& vm, int port) {
  home.must(
      {"vm", "exec", vm, "--", "sh", "-c",
       "setsid perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalPort => 8000, Listen => 5, "
       "ReuseAddr => 1) or die; while (my $c = $s->accept) { my $r = <$c>; "
       "print $c \"HTTP/1.0 200 OK\\r\\nContent-Length: 16\\r\\n\\r\\nserved-by-guest\\n\"; close $c }' "
       ">/dev/null 2>&1 < /dev/null &"});
  std::string body;
  for (int i = 0; i < 100 && body.find("served-by-guest") == std::string::npos; i++) {
    body = run_capture({"curl", "-fsS", "--max-time", "2", "http://127.0.0.1:" + std::to_string(port) + "/"})
               .out;
    if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return body;
}

// Addresses of the host's own, on a bridge made for the test (this kernel
// has no dummy interfaces) and removed with it. 10.0.2.2 and 10.0.2.4 among them make a guest connection
// that the user network would pass on to the real network land on this
// machine instead, where the test counts it.
class HostAddresses {
 public:
  explicit HostAddresses(const std::vector<std::string>& addrs)
      : dev_("bgtest" + std::to_string(getpid() % 100000)) {
    run_checked({"ip", "link", "add", dev_, "type", "bridge"}, "ip link add");
    for (const auto& a : addrs) run_checked({"ip", "addr", "add", a + "/32", "dev", dev_}, "ip addr add");
    run_checked({"ip", "link", "set", dev_, "up"}, "ip link set up");
  }
  ~HostAddresses() { run_capture({"ip", "link", "del", dev_}); }

 private:
  std::string dev_;
};

}  // namespace

TEST_CASE("e2e sandbox: exec with stdin, cp both ways, ports, stats, logs, a shell on a pty", "[e2e][vm]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "box", "--net", "user"});
  home.must({"vm", "start", "box"});
  CHECK(vm_record(home, "box")["state"] == "running");

  // stdin piped through
  CliOptions o = home.env();
  o.input = "hello through stdin\n";
  auto cat = run_banger({"vm", "exec", "box", "--", "cat"}, o);
  CHECK(cat.code == 0);
  CHECK(cat.out == "hello through stdin\n");
  auto err =
      run_banger({"vm", "exec", "box", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}, home.env());
  CHECK(err.code == 3);
  CHECK(err.out == "out\n");
  CHECK(err.err == "err\n");
  CHECK(run_banger({"vm", "exec", "box", "--", "nonexistent-cmd"}, home.env()).code == 127);

  // cp both ways
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7 + 3);
  fs::write_file(home.path("in.bin"), data);
  home.must({"vm", "cp", home.path("in.bin"), "box:/root/in.bin"});
  auto sum = home.must({"vm", "exec", "box", "--", "sh", "-c", "wc -c < /root/in.bin"});
  CHECK(sum.out == "300000\n");
  home.must({"vm", "cp", "box:/root/in.bin", home.path("back.bin")});
  CHECK(fs::read_file(home.path("back.bin")) == data);
  auto missing = run_banger({"vm", "cp", "box:/nope/x", home.path("x")}, home.env());
  CHECK(missing.code != 0);
  CHECK(missing.err.find("/nope/x") != std::string::npos);

  // ports and stats
  // perl is in Debian's minbase (python3 is not).
  home.must(
      {"vm", "exec", "box", "--", "sh", "-c",
       "setsid perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalPort => 8123, Listen => 5, "
       "ReuseAddr => 1) or die; sleep 600' >/dev/null 2>&1 < /dev/null &"});
  bool listening = false;
  for (int i = 0; i < 50 && !listening; i++) {
    auto ports = Json::parse(home.must({"vm", "ports", "box", "--json"}).out);
    for (const auto& p : ports["listening"]) listening |= p["port"] == 8123;
    if (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(listening);
  auto stats = Json::parse(home.must({"vm", "stats", "box", "--json"}).out);
  CHECK(stats["mem_total_kib"].get<long>() > 500000);

  // a shell on a pty
  std::string screen = run_on_pty(home, {"vm", "shell", "box"}, "echo pty-$((40+2)); tty; exit\r");
  CHECK(screen.find("pty-42") != std::string::npos);
  CHECK(screen.find("/dev/pts/") != std::string::npos);

  // More than the 1 MiB a frame carries of argv is a clear error, not a
  // protocol failure (11 arguments of 100 kB: the host's execve takes them).
  std::vector<std::string> big = {"vm", "exec", "box", "--", "true"};
  for (int i = 0; i < 11; i++) big.push_back(std::string(100000, 'a'));
  auto too_long = run_banger(big, home.env());
  CHECK(too_long.code == 2);
  CHECK(too_long.err.rfind("error: the command's arguments and environment take 11", 0) == 0);
  CHECK(too_long.err.find(" bytes; the limit is 1048576 (1 MiB)\n"
                          "  hint: pass large input on stdin, or copy it in with 'banger vm cp'\n") !=
        std::string::npos);

  // Ctrl-C in a recipe of several steps ends the guest command it lands in,
  // and the recipe with it (130): the next step never runs.
  fs::write_file(home.path("steps.lua"), R"(return recipe.new {
  run = function()
    local c = banger.vm.connect("box")
    c:exec({ argv = { "sh", "-c", "echo step-one; exec sleep 60" } })
    c:exec({ argv = { "touch", "/root/step-two" } })
    return 0
  end,
}
)");
  SpawnOptions so;
  so.argv = {"env",
             "BANGER_HOME=" + home.path("home"),
             "XDG_CONFIG_HOME=" + home.path("config"),
             banger_binary(),
             "run",
             home.path("steps.lua")};
  so.pipe_stdout = true;
  Process steps = Process::spawn(so);
  std::string step_out;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (step_out.find("step-one\n") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{steps.stdout_fd(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[256];
    ssize_t n = read(steps.stdout_fd(), buf, sizeof buf);
    if (n <= 0) break;
    step_out.append(buf, n);
  }
  REQUIRE(step_out == "step-one\n");
  steps.signal(SIGINT);
  CHECK(steps.wait() == 130);
  CHECK(run_banger({"vm", "exec", "box", "--", "test", "-e", "/root/step-two"}, home.env()).code == 1);

  // The console: the kernel runs `quiet` (its few lines carry timestamps);
  // the agent says how far the boot got.
  auto logs = home.must({"vm", "logs", "box"}).out;
  CHECK(logs.find("[    ") != std::string::npos);
  CHECK(logs.find("banger-agent: root disk /dev/vda (ext4) mounted at ") != std::string::npos);
  CHECK(logs.find("banger-agent: ready at ") != std::string::npos);
  // `logs -f` follows until the VM stops (`timeout`: a follow that never
  // ends fails the test instead of hanging it).
  RunResult follow;
  std::thread follower([&] {
    follow = run_capture({"env", "BANGER_HOME=" + home.path("home"), "XDG_CONFIG_HOME=" + home.path("config"),
                          "timeout", "60", banger_binary(), "vm", "logs", "-f", "box"});
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  home.must({"vm", "stop", "box"});
  follower.join();
  CHECK(follow.exit_code == 0);
  CHECK(follow.out.rfind(logs, 0) == 0);
  CHECK(vm_record(home, "box")["state"] == "stopped");
  CHECK(qemu_processes(home.path("home")) == 0);
  // A stopped VM starts again with its disk as it was.
  home.must({"vm", "start", "box"});
  CHECK(home.must({"vm", "exec", "box", "--", "cat", "/root/in.bin"}).out == data);
  home.must({"vm", "rm", "--force", "box"});
  CHECK(home.must({"vm", "ls", "--json"}).out == "[]\n");
  CHECK(qemu_processes(home.path("home")) == 0);
}

TEST_CASE("e2e sandbox: user networking: -p on 127.0.0.1, host loopback out of reach unless allowed",
          "[e2e][vm]") {
  SandboxHome home;
  HostGreeter allowed("127.0.0.1"), denied("127.0.0.1");
  int port = 20000 + getpid() % 20000;
  home.must({"vm", "create", "--name", "web", "--net", "user", "-p", std::to_string(port) + ":8000",
             "--allow-host", std::to_string(allowed.port())});
  CHECK(vm_record(home, "web")["net"] == "user");
  home.must({"vm", "start", "web"});
  CHECK(serve_and_fetch(home, "web", port) == "served-by-guest\n");

  // The allowed port is at 10.0.2.4; nothing on the host's loopback is
  // reachable through the gateway, allowed or not.
  CHECK(guest_fetch(home, "web", "10.0.2.4", allowed.port()) == "hello-from-host\n");
  CHECK(guest_fetch(home, "web", "10.0.2.2", denied.port()) == "no connection");
  CHECK(guest_fetch(home, "web", "10.0.2.2", allowed.port()) == "no connection");
  CHECK(allowed.connections() == 1);
  CHECK(denied.connections() == 0);

  // A server on every host address (0.0.0.0) is out of reach at the host's
  // own addresses, and 10.0.2.4 has only the allowed port: each attempt is
  // refused at once, and the server sees no connection.
  const std::string lan = "198.18." + std::to_string(getpid() % 200) + ".1";
  HostAddresses addrs({lan, "10.0.2.2", "10.0.2.4"});
  HostGreeter everywhere("0.0.0.0");
  CHECK(guest_fetch(home, "web", lan, everywhere.port()) == "no connection");
  CHECK(guest_fetch(home, "web", "10.0.2.4", everywhere.port()) == "no connection");
  CHECK(guest_fetch(home, "web", "10.0.2.2", everywhere.port()) == "no connection");
  auto refused = run_banger({"vm", "exec", "web", "--", "perl", "-MIO::Socket::INET", "-e",
                             "IO::Socket::INET->new(PeerAddr => $ARGV[0], Timeout => 5) or print qq($!\n)",
                             lan + ":" + std::to_string(everywhere.port())},
                            home.env());
  CHECK(refused.out == "Connection refused\n");
  CHECK(everywhere.connections() == 0);
  CHECK(guest_fetch(home, "web", "10.0.2.4", allowed.port()) == "hello-from-host\n");

  // A taken host port is refused at start, naming it; the VM stays stopped.
  home.must({"vm", "create", "--name", "web2", "--net", "user", "-p", std::to_string(port) + ":80"});
  auto r = run_banger({"vm", "start", "web2"}, home.env());
  CHECK(r.code == 4);
  CHECK(r.err.find("error: cannot forward 127.0.0.1:" + std::to_string(port) +
                   " to the guest: Address already in use\n  hint: pick another host port (-p OTHER:80)") !=
        std::string::npos);
  CHECK(vm_record(home, "web2")["state"] == "stopped");

  home.must({"vm", "rm", "--force", "web", "web2"});
  CHECK(qemu_processes(home.path("home")) == 0);
  // The forward's port is free again.
  CHECK_NOTHROW(close(net::tcp_listen("127.0.0.1", port)));
}

TEST_CASE("e2e sandbox: parallel creates of different names all succeed - one name has one winner",
          "[e2e][vm]") {
  SandboxHome home;
  auto spawn = [&](const std::string& name) {
    SpawnOptions o;
    o.argv = {
        "env", "BANGER_HOME=" + home.path("home"), banger_binary(), "vm", "create", "--name", name, "--net",
        "user"};
    o.stdout_fd = o.stderr_fd = ::open("/dev/null", O_WRONLY);
    return Process::spawn(o);
  };
  std::vector<Process> ps;
  for (const char* n : {"p1", "p2", "p3", "same", "same", "same"}) ps.push_back(spawn(n));
  std::vector<int> codes;
  for (auto& p : ps) codes.push_back(p.wait());
  CHECK(codes[0] == 0);
  CHECK(codes[1] == 0);
  CHECK(codes[2] == 0);
  CHECK(std::count(codes.begin() + 3, codes.end(), 0) == 1);
  CHECK(std::count(codes.begin() + 3, codes.end(), 4) == 2);
  auto ls = Json::parse(home.must({"vm", "ls", "--json"}).out);
  CHECK(ls.size() == 4);
  std::set<long> addresses;
  for (const auto& r : ls) addresses.insert(r["address"].get<long>());
  CHECK(addresses.size() == 4);
}

TEST_CASE("e2e sandbox: a killed supervisor or VMM is reconciled and nothing is leaked", "[e2e][vm]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "k1", "--net", "user"});
  home.must({"vm", "start", "k1"});
  Json rec = vm_record(home, "k1");
  REQUIRE(rec["state"] == "running");

  // kill -9 of the supervisor: the next command notices, kills its VMM.
  kill(static_cast<pid_t>(rec["supervisor_pid"].get<long>()), SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(vm_record(home, "k1")["state"] == "stopped");
  CHECK(qemu_processes(home.path("home")) == 0);
  auto exec = run_banger({"vm", "exec", "k1", "--", "true"}, home.env());
  CHECK(exec.code == 4);
  CHECK(exec.err ==
        "error: VM 'k1' is not running (state: stopped)\n  hint: start it with 'banger vm start k1'\n");

  // kill -9 of the VMM: the supervisor notices, cleans up, marks it stopped.
  home.must({"vm", "start", "k1"});
  rec = vm_record(home, "k1");
  REQUIRE(rec["state"] == "running");
  kill(static_cast<pid_t>(rec["qemu_pid"].get<long>()), SIGKILL);
  bool stopped = false;
  for (int i = 0; i < 50 && !stopped; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stopped = vm_record(home, "k1")["state"] == "stopped";
  }
  CHECK(stopped);
  CHECK_FALSE(fs::exists(home.path("home/vms/k1/control.sock")));
  home.must({"vm", "rm", "k1"});
  CHECK(qemu_processes(home.path("home")) == 0);
  CHECK_FALSE(fs::exists(home.path("home/vms/k1")));
}

TEST_CASE("e2e sandbox: tap networking: ping the VM, ssh NAME.vm, nothing left after rm", "[e2e][vm][tap]") {
  // Its own bridge and subnet: a real installation beside the test is untouched.
  std::map<std::string, std::string> net_env = {{"BANGER_BRIDGE", "bgtest0"},
                                                {"BANGER_SUBNET", "10.213.7.0/24"}};
  std::string layout = debian_layout_with({"openssh-server"});
  SandboxHome home("oci:" + layout + ":v1", net_env);
  HostGreeter allowed("0.0.0.0"), denied("0.0.0.0");
  int port = 20000 + getpid() % 20000;
  home.must({"vm", "create", "--name", "tapvm", "--net", "tap", "-p", std::to_string(port) + ":8000",
             "--allow-host", std::to_string(allowed.port())});
  home.must({"vm", "start", "tapvm"});
  Json rec = vm_record(home, "tapvm");
  REQUIRE(rec["state"] == "running");
  std::string ip = rec["ip"];
  CHECK(ip.rfind("10.213.7.", 0) == 0);

  auto ping = run_capture({"ping", "-c", "2", "-W", "5", ip});
  CHECK(ping.exit_code == 0);
  INFO(ping.out);

  std::string config = home.path("home/ssh/config");
  CHECK(fs::read_file(config).find("Host tapvm.vm") != std::string::npos);
  RunResult ssh;
  for (int i = 0; i < 20; i++) {
    ssh = run_capture(
        {"ssh", "-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "tapvm.vm", "hostname"});
    if (ssh.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(ssh.exit_code == 0);
  CHECK(ssh.out == "tapvm\n");
  INFO(ssh.err);

  // -p relays 127.0.0.1:PORT to the guest; host services are closed to the
  // guest except the allowed port (at the gateway).
  CHECK(serve_and_fetch(home, "tapvm", port) == "served-by-guest\n");
  CHECK(guest_fetch(home, "tapvm", "10.213.7.1", allowed.port()) == "hello-from-host\n");
  CHECK(guest_fetch(home, "tapvm", "10.213.7.1", denied.port()) == "no connection");
  CHECK(denied.connections() == 0);

  home.must({"vm", "rm", "--force", "tapvm"});
  CHECK(qemu_processes(home.path("home")) == 0);
  CHECK_NOTHROW(close(net::tcp_listen("127.0.0.1", port)));
  CHECK(run_capture({"ip", "link", "show", "bgtest0"}).exit_code != 0);
  CHECK(run_capture({"nft", "list", "tables"}).out.find("bgtest0") == std::string::npos);
  CHECK(run_capture({"ping", "-c", "1", "-W", "1", ip}).exit_code != 0);
}
