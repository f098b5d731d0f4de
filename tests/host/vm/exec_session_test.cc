// The exec protocol's state machine, fed frames directly: what it sends, what
// it makes of what it receives, and its flow-control accounting.
#include <catch2/catch.hpp>

#include <csignal>

#include "host/core/error.h"
#include "host/vm/exec_session.h"
#include "proto/flow.h"
#include "proto/messages.h"

using namespace banger;
using namespace banger::vm;
using proto::Frame;
using proto::Type;

namespace {

ExecRequest ls() {
  ExecRequest r;
  r.argv = {"ls", "-l"};
  r.env = {"A=1"};
  r.cwd = "/tmp";
  r.user = "nobody";
  r.tty = true;
  return r;
}

Frame frame(Type t, uint32_t id, std::string payload = "") { return {t, id, std::move(payload)}; }

}  // namespace

TEST_CASE("exec session: the Exec frame carries the request, stdin and the tty size", "[vm-unit]") {
  ExecSession s(7, ls(), true, true, "VM 'box': running ls");
  Frame f = s.start({40, 120});
  CHECK(f.type == Type::exec);
  CHECK(f.id == 7);
  auto e = proto::Exec::decode(f.payload);
  CHECK(e.argv == std::vector<std::string>{"ls", "-l"});
  CHECK(e.env == std::vector<std::string>{"A=1"});
  CHECK(e.cwd == "/tmp");
  CHECK(e.user == "nobody");
  CHECK(e.tty);
  CHECK(e.stdin);
  CHECK(e.rows == 40);
  CHECK(e.cols == 120);
  CHECK_FALSE(proto::Exec::decode(ExecSession(8, ls(), false, true, "x").start().payload).stdin);
}

TEST_CASE("exec session: output is routed by stream, exit ends it", "[vm-unit]") {
  ExecSession s(3, ls(), false, true, "VM 'box': running ls");
  CHECK(s.feed(frame(Type::exec_started, 3, proto::ExecStarted{99}.encode())).kind == ExecEvent::Kind::none);
  ExecEvent out = s.feed(frame(Type::stdout_data, 3, "hello\n"));
  CHECK(out.kind == ExecEvent::Kind::output);
  CHECK_FALSE(out.from_stderr);
  CHECK(out.data == "hello\n");
  ExecEvent err = s.feed(frame(Type::stderr_data, 3, "oops\n"));
  CHECK(err.kind == ExecEvent::Kind::output);
  CHECK(err.from_stderr);
  CHECK(err.data == "oops\n");
  // Another request's frames, and the connection's, are not this command's.
  CHECK(s.feed(frame(Type::stdout_data, 4, "not mine")).kind == ExecEvent::Kind::none);
  CHECK(s.feed(frame(Type::hello, 0, proto::Hello{}.encode())).kind == ExecEvent::Kind::none);
  CHECK_FALSE(s.done());
  ExecEvent x = s.feed(frame(Type::exit, 3, proto::Exit{137, 9, 1234}.encode()));
  CHECK(x.kind == ExecEvent::Kind::exited);
  CHECK(x.status.exit_code == 137);
  CHECK(x.status.signal == 9);
  CHECK(x.status.guest_us == 1234);
  CHECK(s.done());
  // Nothing after the end counts.
  CHECK(s.feed(frame(Type::stdout_data, 3, "late")).kind == ExecEvent::Kind::none);
}

TEST_CASE("exec session: a refused request is an error with the agent's kind", "[vm-unit]") {
  ExecSession s(5, ls(), false, true, "VM 'box': running ls");
  try {
    s.feed(frame(Type::error, 5, proto::Failure{"not_found", "ls: no such command"}.encode()));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "VM 'box': running ls: ls: no such command");
  }
  CHECK(s.done());
  ExecSession p(6, ls(), false, true, "VM box: running ls");
  try {
    p.feed(frame(Type::error, 6, proto::Failure{"protocol", "what is this"}.encode()));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::unsupported);
    CHECK(e.message() == "VM box: running ls: what is this");
  }
}

TEST_CASE("exec session: a malformed payload is a protocol error", "[vm-unit]") {
  ExecSession s(5, ls(), false, true, "x");
  CHECK_THROWS_AS(s.feed(frame(Type::exit, 5, "ab")), proto::ProtocolError);
  CHECK_THROWS_AS(s.feed(frame(Type::credit, 5, "")), proto::ProtocolError);
}

TEST_CASE("exec session: output is granted back in batches once passed on", "[vm-unit]") {
  ExecSession s(2, ls(), false, true, "x");
  size_t passed = 0, granted = 0;
  for (int i = 0; i < 64; i++) {
    ExecEvent ev = s.feed(frame(Type::stdout_data, 2, std::string(proto::kDataChunk, 'a')));
    REQUIRE(ev.kind == ExecEvent::Kind::output);
    passed += ev.data.size();
    if (auto g = s.delivered(ev.data.size())) {
      CHECK(g->type == Type::credit);
      CHECK(g->id == 2);
      granted += proto::Credit::decode(g->payload).bytes;
    }
    CHECK(passed - granted < proto::kGrantBatch);
  }
  CHECK(granted == 2u << 20);  // 64 chunks of 32 KiB, each batch of 256 KiB granted
  // Without flow control nothing is granted and stdin is never held back.
  ExecSession off(2, ls(), true, false, "x");
  CHECK_FALSE(off.delivered(proto::kStreamWindow).has_value());
  off.stdin_data(std::string(proto::kStreamWindow, 'b'));
  CHECK(off.stdin_room() > proto::kStreamWindow);
}

TEST_CASE("exec session: stdin goes out as far as the agent grants", "[vm-unit]") {
  ExecSession s(9, ls(), true, true, "x");
  CHECK(s.stdin_room() == proto::kStreamWindow);
  Frame d = s.stdin_data(std::string(proto::kStreamWindow, 'i'));
  CHECK(d.type == Type::stdin_data);
  CHECK(d.id == 9);
  CHECK(d.payload.size() == proto::kStreamWindow);
  CHECK(s.stdin_room() == 0);
  CHECK(s.feed(frame(Type::credit, 9, proto::Credit{1000}.encode())).kind == ExecEvent::Kind::none);
  CHECK(s.stdin_room() == 1000);
  // Credit for another stream is not ours.
  s.feed(frame(Type::credit, 10, proto::Credit{5000}.encode()));
  CHECK(s.stdin_room() == 1000);
  Frame eof = s.stdin_eof();
  CHECK(eof.type == Type::stdin_eof);
  CHECK(eof.id == 9);
  CHECK(eof.payload.empty());
}

TEST_CASE("exec session: signals and resizes name the command's id", "[vm-unit]") {
  ExecSession s(11, ls(), false, true, "x");
  Frame k = s.signal(SIGKILL);
  CHECK(k.type == Type::signal);
  CHECK(k.id == 11);
  CHECK(proto::Signal::decode(k.payload).signo == SIGKILL);
  Frame w = s.resize({50, 200});
  CHECK(w.type == Type::window_size);
  CHECK(w.id == 11);
  auto ws = proto::WindowSize::decode(w.payload);
  CHECK(ws.rows == 50);
  CHECK(ws.cols == 200);
}
