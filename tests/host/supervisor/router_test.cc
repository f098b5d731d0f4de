// The supervisor's router with socketpairs standing in for the agent and the
// clients: the test plays both ends with raw frames.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <csignal>
#include <memory>

#include "host/supervisor/control.h"
#include "host/supervisor/router.h"
#include "host/vm/agent_channel.h"
#include "proto/flow.h"
#include "proto/messages.h"
#include "tests/support/frame_peer.h"

using namespace banger;
using namespace banger::supervisor;
using proto::Type;
using test::FramePeer;

namespace {

struct Pair {
  int a, b;
  Pair() {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    a = sv[0];
    b = sv[1];
  }
};

proto::Hello agent_hello(bool credit = true) {
  proto::Hello h;
  h.software = "banger-agent 0.1.0";
  h.capabilities = {proto::kCapExec, proto::kCapStdin};
  if (credit) h.capabilities.push_back(proto::kCapCredit);
  return h;
}

// A router over a fake agent, with helpers to connect clients.
struct Bench {
  std::unique_ptr<vm::AgentChannel> channel;
  std::unique_ptr<FramePeer> agent;
  std::unique_ptr<Router> router;

  explicit Bench(bool agent_credit = true) {
    Pair p;
    channel = std::make_unique<vm::AgentChannel>(p.a);
    agent = std::make_unique<FramePeer>(p.b);
    router = std::make_unique<Router>(*channel, agent_hello(agent_credit));
  }
  void pump(int rounds = 5) {
    for (int i = 0; i < rounds; i++) router->poll_once(-1, std::chrono::milliseconds(5));
  }
  // A client that has said hello (with or without "credit").
  std::unique_ptr<FramePeer> client(bool credit = true) {
    Pair p;
    router->add_client(p.a);
    auto c = std::make_unique<FramePeer>(p.b);
    proto::Hello h;
    h.software = "test";
    if (credit) h.capabilities = {proto::kCapCredit};
    c->send(Type::hello, 0, h.encode());
    pump();
    auto f = c->next(1000);
    REQUIRE(f);
    REQUIRE(f->type == Type::hello);
    return c;
  }
  // The next frame the agent got, pumping the router meanwhile.
  proto::Frame at_agent() {
    for (int i = 0; i < 100; i++) {
      pump(1);
      if (auto f = agent->next(0)) return *f;
    }
    FAIL("the agent got nothing");
    return {};
  }
  proto::Frame at(FramePeer& c) {
    for (int i = 0; i < 100; i++) {
      pump(1);
      if (auto f = c.next(0)) return *f;
    }
    FAIL("the client got nothing");
    return {};
  }
};

std::string exec_payload(const char* cmd) {
  proto::Exec e;
  e.argv = {cmd};
  return e.encode();
}

}  // namespace

TEST_CASE("supervisor router: a client's hello is answered with the agent's version and capabilities",
          "[supervisor]") {
  Bench b;
  Pair p;
  b.router->add_client(p.a);
  FramePeer c(p.b);
  proto::Hello h;
  h.software = "test";
  c.send(Type::hello, 0, h.encode());
  proto::Frame f = b.at(c);
  REQUIRE(f.type == Type::hello);
  auto theirs = proto::Hello::decode(f.payload);
  CHECK(theirs.software == "banger-supervisor (banger-agent 0.1.0)");
  CHECK(theirs.capabilities == agent_hello().capabilities);
  CHECK(b.router->clients() == 1);
}

TEST_CASE("supervisor router: a client that does not start with hello is refused and dropped",
          "[supervisor]") {
  Bench b;
  Pair p;
  b.router->add_client(p.a);
  FramePeer c(p.b);
  c.send(Type::exec, 1, exec_payload("ls"));
  proto::Frame f = b.at(c);
  REQUIRE(f.type == Type::error);
  CHECK(f.id == 0);
  CHECK(proto::Failure::decode(f.payload).message == "send hello first");
  b.pump();
  CHECK(c.closed_by_peer(100));
  CHECK(b.router->clients() == 0);
}

TEST_CASE("supervisor router: requests get agent ids unique across clients and answers map back",
          "[supervisor]") {
  Bench b;
  auto one = b.client();
  auto two = b.client();
  one->send(Type::exec, 1, exec_payload("one"));
  proto::Frame e1 = b.at_agent();
  two->send(Type::exec, 1, exec_payload("two"));
  proto::Frame e2 = b.at_agent();
  REQUIRE(e1.type == Type::exec);
  REQUIRE(e2.type == Type::exec);
  CHECK(proto::Exec::decode(e1.payload).argv[0] == "one");
  CHECK(proto::Exec::decode(e2.payload).argv[0] == "two");
  CHECK(e1.id != e2.id);
  CHECK(b.router->routes() == 2);

  // The agent answers the second command: only its client hears, under its own id.
  b.agent->send(Type::stdout_data, e2.id, "from two");
  proto::Frame out = b.at(*two);
  CHECK(out.type == Type::stdout_data);
  CHECK(out.id == 1);
  CHECK(out.payload == "from two");
  CHECK_FALSE(one->next(50));

  // The client's stdin follows the same route to the agent.
  two->send(Type::stdin_data, 1, "input");
  proto::Frame in = b.at_agent();
  CHECK(in.type == Type::stdin_data);
  CHECK(in.id == e2.id);
  CHECK(in.payload == "input");

  b.agent->send(Type::exit, e2.id, proto::Exit{3, 0, 10}.encode());
  proto::Frame x = b.at(*two);
  CHECK(x.type == Type::exit);
  CHECK(x.id == 1);
  CHECK(proto::Exit::decode(x.payload).code == 3);
  CHECK(b.router->routes() == 1);
  // After the end, the stream's frames go nowhere.
  two->send(Type::stdin_eof, 1);
  b.pump();
  CHECK_FALSE(b.agent->next(50));
}

TEST_CASE("supervisor router: a request id in use is refused", "[supervisor]") {
  Bench b;
  auto c = b.client();
  c->send(Type::exec, 4, exec_payload("a"));
  b.at_agent();
  c->send(Type::exec, 4, exec_payload("b"));
  proto::Frame f = b.at(*c);
  CHECK(f.type == Type::error);
  CHECK(f.id == 4);
  CHECK(proto::Failure::decode(f.payload).message == "request id 4 is already in use");
}

TEST_CASE("supervisor router: the commands of a client that went away are killed", "[supervisor]") {
  Bench b;
  auto c = b.client();
  c->send(Type::exec, 1, exec_payload("sleep"));
  proto::Frame e = b.at_agent();
  c->close();
  proto::Frame k = b.at_agent();
  CHECK(k.type == Type::signal);
  CHECK(k.id == e.id);
  CHECK(proto::Signal::decode(k.payload).signo == SIGKILL);
  // The window its buffer may have held back is granted, so the command drains to its exit.
  proto::Frame g = b.at_agent();
  CHECK(g.type == Type::credit);
  CHECK(g.id == e.id);
  CHECK(proto::Credit::decode(g.payload).bytes == proto::kStreamWindow);
  CHECK(b.router->clients() == 0);
  b.agent->send(Type::exit, e.id, proto::Exit{137, 9, 0}.encode());
  b.pump();
  CHECK(b.router->routes() == 0);
}

TEST_CASE("supervisor router: for a client without credit the router grants the agent", "[supervisor]") {
  Bench b;
  auto c = b.client(false);
  c->send(Type::exec, 1, exec_payload("yes"));
  proto::Frame e = b.at_agent();
  for (uint32_t sent = 0; sent < proto::kGrantBatch; sent += proto::kDataChunk)
    b.agent->send(Type::stdout_data, e.id, std::string(proto::kDataChunk, 'y'));
  proto::Frame g = b.at_agent();
  CHECK(g.type == Type::credit);
  CHECK(g.id == e.id);
  CHECK(proto::Credit::decode(g.payload).bytes == proto::kGrantBatch);
  size_t got = 0;
  while (got < proto::kGrantBatch) {
    proto::Frame f = b.at(*c);
    REQUIRE(f.type == Type::stdout_data);
    got += f.payload.size();
  }
  CHECK(got == proto::kGrantBatch);
}

TEST_CASE("supervisor router: info and stop are the supervisor's own requests", "[supervisor]") {
  Bench b;
  bool stopped = false, now = false;
  b.router->on_info = [] { return std::string(R"({"name":"box"})"); };
  b.router->on_stop = [&](bool n) {
    stopped = true;
    now = n;
  };
  auto c = b.client();
  c->send(kInfoRequest, 5);
  proto::Frame i = b.at(*c);
  CHECK(i.type == kInfo);
  CHECK(i.id == 5);
  CHECK(i.payload == R"({"name":"box"})");
  c->send(kStop, 0, "now");
  b.pump();
  CHECK(stopped);
  CHECK(now);
  CHECK_FALSE(b.agent->next(20));  // neither reached the agent
}
