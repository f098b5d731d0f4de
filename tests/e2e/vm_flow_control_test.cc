// End to end under TCG: per-stream flow control (proto/flow.h) through a VM's
// supervisor. A client that stops reading holds up only its own command (the
// guest process blocks in write); it is not disconnected and loses nothing,
// and the other clients of the same VM are served meanwhile.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "proto/flow.h"
#include "proto/messages.h"
#include "tests/support/sandbox_home.h"

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMiB = 1u << 20;

// `banger ARGS` in `home`, its stdout on a pipe that the test reads when it
// chooses to.
struct PipedBanger {
  Process process;
  int out = -1;
  ~PipedBanger() {
    if (out >= 0) ::close(out);
  }
};

void spawn_piped(const SandboxHome& home, const std::vector<std::string>& args, PipedBanger& pb) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  SpawnOptions o;
  o.argv = {"env"};
  for (const auto& [k, v] : home.env().env) o.argv.push_back(k + "=" + v);
  o.argv.push_back(banger_binary());
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.stdout_fd = fds[1];
  pb.process = Process::spawn(o);
  ::close(fds[1]);
  pb.out = fds[0];
}

// Reads `fd` to EOF in small reads with pauses (a slow terminal); returns
// the byte count, checking every byte is zero.
size_t read_slowly(int fd) {
  size_t total = 0;
  bool all_zero = true;
  char buf[64 * 1024];
  for (int round = 0;; round++) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n >= 0);
    if (n == 0) break;
    for (ssize_t i = 0; i < n; i++) all_zero &= buf[i] == 0;
    total += n;
    if (round % 64 == 0) std::this_thread::sleep_for(10ms);
  }
  CHECK(all_zero);
  return total;
}

// A client of the control socket as a banger without flow control speaks it:
// its Hello names no "credit", so it never grants.
class OldClient {
 public:
  explicit OldClient(const std::string& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    proto::Hello hello;
    hello.software = "banger 0.0.9";
    send(proto::Type::hello, 0, hello.encode());
    REQUIRE(next().type == proto::Type::hello);
  }
  ~OldClient() { ::close(fd_); }
  void send(proto::Type t, uint32_t id, const std::string& payload) {
    std::string f = proto::encode_frame(t, id, payload);
    REQUIRE(::write(fd_, f.data(), f.size()) == static_cast<ssize_t>(f.size()));
  }
  // The next frame; fails the test after 60 s without one.
  proto::Frame next() {
    for (;;) {
      if (auto f = dec_.next()) return *f;
      pollfd p{fd_, POLLIN, 0};
      REQUIRE(::poll(&p, 1, 60000) == 1);
      char buf[65536];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      REQUIRE(n > 0);
      dec_.feed(buf, n);
    }
  }

 private:
  int fd_ = -1;
  proto::Decoder dec_;
};

}  // namespace

TEST_CASE("e2e flow control: a client that stops reading holds up only its own command and gets every byte",
          "[e2e][vm]") {
  SandboxHome home;
  home.must({"vm", "create", "--name", "flow", "--net", "user"});
  home.must({"vm", "start", "flow"});

  // 64 MiB, four times the supervisor's per-client cap; nobody reads it for
  // 8 s, while the guest produces ~100 MB/s under TCG here: without flow
  // control the supervisor would drop this client and kill its command.
  PipedBanger slow;
  spawn_piped(home, {"vm", "exec", "flow", "--", "head", "-c", "64M", "/dev/zero"}, slow);
  auto paused_until = Clock::now() + 8s;
  std::this_thread::sleep_for(2s);

  // Another client of the same VM gets its answer at once.
  auto t0 = Clock::now();
  CHECK(home.must({"vm", "exec", "flow", "--", "echo", "hi"}).out == "hi\n");
  auto hi_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  WARN("echo hi beside a stalled 64 MiB stream: " << hi_ms << " ms");
  CHECK(hi_ms < 5000);

  // The slow command is blocked in write in the guest: it wrote about a
  // window (plus its pipe), not the megabytes a full queue would hold.
  auto written = home.must({"vm", "exec", "flow", "--", "sh", "-c",
                            "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = head ] && "
                            "sed -n 's/^wchar: //p' $p/io; done; true"});
  REQUIRE_FALSE(written.out.empty());
  size_t wchar = std::stoul(written.out);
  WARN("head wrote " << wchar << " bytes while nobody read");
  CHECK(wchar <= proto::kStreamWindow + kMiB);

  std::this_thread::sleep_for(paused_until - Clock::now());
  REQUIRE(slow.process.running());  // not disconnected for being slow
  CHECK(read_slowly(slow.out) == 64 * kMiB);
  CHECK(slow.process.wait() == 0);

  // stdin: a command that reads late gets all of a large input (the agent
  // buffers a window of it, not everything).
  CliOptions in = home.env();
  in.input.assign(32 * kMiB, 'x');
  auto wc = run_banger({"vm", "exec", "flow", "--", "sh", "-c", "sleep 3; wc -c"}, in);
  CHECK(wc.err == "");
  CHECK(wc.out == "33554432\n");
  CHECK(wc.code == 0);

  // A file copied out is windowed too: the client grants as it writes.
  home.must({"vm", "exec", "flow", "--", "sh", "-c", "head -c 8M /dev/zero | tr '\\0' z > /root/big"});
  home.must({"vm", "cp", "flow:/root/big", home.path("big")});
  CHECK(fs::read_file(home.path("big")) == std::string(8 * kMiB, 'z'));

  // A client from before flow control never grants: the supervisor grants
  // for it as it forwards, so it still gets all of its output.
  OldClient old(home.path("home/vms/flow/control.sock"));
  proto::Exec req;
  req.argv = {"head", "-c", "8M", "/dev/zero"};
  old.send(proto::Type::exec, 7, req.encode());
  size_t got = 0;
  for (;;) {
    proto::Frame f = old.next();
    REQUIRE(f.id == 7);
    if (f.type == proto::Type::stdout_data) got += f.payload.size();
    REQUIRE(f.type != proto::Type::error);
    if (f.type == proto::Type::exit) {
      CHECK(proto::Exit::decode(f.payload).code == 0);
      break;
    }
  }
  CHECK(got == 8 * kMiB);

  home.must({"vm", "rm", "--force", "flow"});
  CHECK(qemu_processes(home.path("home")) == 0);
}
