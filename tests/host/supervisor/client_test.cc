// supervisor::Client against the real router on a control socket, with a
// socketpair standing in for the agent: a scripted agent answers each exec.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/supervisor/client.h"
#include "host/supervisor/router.h"
#include "host/supervisor/supervisor.h"
#include "host/vm/agent_channel.h"
#include "proto/flow.h"
#include "proto/messages.h"
#include "tests/support/frame_peer.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::supervisor;
using proto::Type;

namespace {

// The agent's side of each command, by argv[0]:
//   greet      stdout "hello\n", stderr "warn\n", exit 3
//   cat        stdin back on stdout once stdin ends, exit 0
//   flood      a full window of stdout; exits once the client granted a batch back
//   nosuch     refused: not_found
class ScriptedAgent {
 public:
  explicit ScriptedAgent(test::FramePeer& peer) : peer_(peer) {}
  void on_frame(const proto::Frame& f) {
    if (f.type == Type::exec) {
      auto e = proto::Exec::decode(f.payload);
      cmd_[f.id] = e.argv.at(0);
      peer_.send(Type::exec_started, f.id, proto::ExecStarted{100}.encode());
      if (e.argv[0] == "greet") {
        peer_.send(Type::stdout_data, f.id, "hello\n");
        peer_.send(Type::stderr_data, f.id, "warn\n");
        peer_.send(Type::exit, f.id, proto::Exit{3, 0, 42}.encode());
      } else if (e.argv[0] == "flood") {
        for (uint32_t n = 0; n < proto::kStreamWindow; n += proto::kDataChunk)
          peer_.send(Type::stdout_data, f.id, std::string(proto::kDataChunk, 'f'));
      } else if (e.argv[0] == "nosuch") {
        peer_.send(Type::error, f.id, proto::Failure{"not_found", "nosuch: command not found"}.encode());
      }
    } else if (f.type == Type::stdin_data) {
      input_[f.id] += f.payload;
    } else if (f.type == Type::stdin_eof) {
      peer_.send(Type::stdout_data, f.id, input_[f.id]);
      peer_.send(Type::exit, f.id, proto::Exit{0, 0, 1}.encode());
    } else if (f.type == Type::credit && cmd_[f.id] == "flood") {
      granted += proto::Credit::decode(f.payload).bytes;
      if (granted >= proto::kGrantBatch) peer_.send(Type::exit, f.id, proto::Exit{0, 0, 7}.encode());
    }
  }
  std::atomic<uint32_t> granted{0};

 private:
  test::FramePeer& peer_;
  std::map<uint32_t, std::string> cmd_;
  std::map<uint32_t, std::string> input_;
};

// A supervisor without a VM: the router on a control socket, the scripted
// agent on the other end of its channel, both served by one thread.
struct FakeSupervisor {
  test::TempDir dir;
  std::string socket = dir / "control.sock";
  int listen_fd = listen_control(socket);
  std::unique_ptr<vm::AgentChannel> channel;
  std::unique_ptr<test::FramePeer> agent_end;
  std::unique_ptr<ScriptedAgent> agent;
  std::unique_ptr<Router> router;
  std::atomic<bool> stop{false};
  std::thread thread;

  FakeSupervisor() {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    channel = std::make_unique<vm::AgentChannel>(sv[0]);
    agent_end = std::make_unique<test::FramePeer>(sv[1]);
    agent = std::make_unique<ScriptedAgent>(*agent_end);
    proto::Hello h;
    h.software = "banger-agent 0.1.0";
    h.capabilities = {proto::kCapExec, proto::kCapStdin, proto::kCapCredit};
    router = std::make_unique<Router>(*channel, h);
    thread = std::thread([this] {
      while (!stop) {
        router->poll_once(listen_fd, std::chrono::milliseconds(5));
        while (auto f = agent_end->next(0)) agent->on_frame(*f);
        agent_end->flush();
      }
    });
  }
  ~FakeSupervisor() {
    stop = true;
    thread.join();
    ::close(listen_fd);
  }
};

// A file to take a command's output (large outputs would fill a pipe).
struct OutFile {
  test::TempDir dir;
  std::string path = dir / "out";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ~OutFile() { ::close(fd); }
  std::string text() const { return fs::read_file(path); }
};

ExecOptions options(std::vector<std::string> argv, int out, int err) {
  ExecOptions o;
  o.request.argv = std::move(argv);
  o.stdout_fd = out;
  o.stderr_fd = err;
  o.forward_signals = false;
  return o;
}

}  // namespace

TEST_CASE("supervisor client: exec routes stdout and stderr and returns the exit status", "[supervisor]") {
  FakeSupervisor sv;
  auto client = Client::connect(sv.socket, "box");
  OutFile out, err;
  vm::ExecStatus st = client->exec(options({"greet"}, out.fd, err.fd));
  CHECK(st.exit_code == 3);
  CHECK(st.signal == 0);
  CHECK(st.guest_us == 42);
  CHECK(out.text() == "hello\n");
  CHECK(err.text() == "warn\n");
}

TEST_CASE("supervisor client: stdin goes to the command until EOF", "[supervisor]") {
  FakeSupervisor sv;
  auto client = Client::connect(sv.socket, "box");
  int in[2];
  REQUIRE(pipe2(in, O_CLOEXEC) == 0);
  const std::string input = "line one\nline two\n";
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  OutFile out;
  ExecOptions o = options({"cat"}, out.fd, out.fd);
  o.stdin_fd = in[0];
  vm::ExecStatus st = client->exec(o);
  ::close(in[0]);
  CHECK(st.exit_code == 0);
  CHECK(out.text() == input);
}

TEST_CASE("supervisor client: output is granted back as it is written out", "[supervisor]") {
  FakeSupervisor sv;
  auto client = Client::connect(sv.socket, "box");
  OutFile out;
  vm::ExecStatus st = client->exec(options({"flood"}, out.fd, out.fd));
  CHECK(st.guest_us == 7);  // the exit the agent sends only once credit came back
  CHECK(sv.agent->granted >= proto::kGrantBatch);
  CHECK(out.text().size() == proto::kStreamWindow);
}

TEST_CASE("supervisor client: a refused command is an error naming the VM and the command", "[supervisor]") {
  FakeSupervisor sv;
  auto client = Client::connect(sv.socket, "box");
  OutFile out;
  try {
    client->exec(options({"nosuch"}, out.fd, out.fd));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "VM 'box': running nosuch: nosuch: command not found");
  }
  // The connection stays usable for the next command.
  CHECK(client->exec(options({"greet"}, out.fd, out.fd)).exit_code == 3);
}

TEST_CASE("supervisor client: connecting where no supervisor listens says how to start the VM",
          "[supervisor]") {
  test::TempDir dir;
  try {
    Client::connect(dir / "control.sock", "box");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "VM 'box' is not running (no supervisor answers at " + (dir / "control.sock") + ")");
    CHECK(e.hint() == "start it with 'banger vm start box'");
  }
}
