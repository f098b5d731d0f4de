#include <catch2/catch.hpp>

#include "proto/messages.h"
#include "proto/wire.h"

using namespace banger::proto;

namespace {

std::string header(const char* magic, uint8_t version, uint8_t type, uint32_t id, uint32_t len) {
  std::string h(magic, 4);
  h.push_back(static_cast<char>(version));
  h.push_back(static_cast<char>(type));
  h.append(2, '\0');
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>((id >> (8 * i)) & 0xff));
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  return h;
}

}  // namespace

TEST_CASE("proto: a frame round-trips through the decoder", "[proto]") {
  std::string bytes = encode_frame(Type::stdout_data, 42, "hello");
  REQUIRE(bytes.size() == kHeaderSize + 5);
  REQUIRE(bytes.substr(0, 4) == "BNGR");
  Decoder d;
  d.feed(bytes);
  auto f = d.next();
  REQUIRE(f);
  CHECK(f->type == Type::stdout_data);
  CHECK(f->id == 42);
  CHECK(f->payload == "hello");
  CHECK_FALSE(d.next());
  CHECK(d.buffered() == 0);
}

TEST_CASE("proto: the decoder reassembles frames split across reads", "[proto]") {
  std::string stream = encode_frame(Type::hello, 0, Hello{}.encode()) +
                       encode_frame(Type::stderr_data, 7, std::string(100000, 'x')) +
                       encode_frame(Type::exit, 7, Exit{3, 0, 99}.encode());
  Decoder d;
  std::vector<Frame> got;
  // One byte at a time, then in odd chunks: the same three frames.
  for (size_t chunk : {size_t(1), size_t(7), size_t(4096)}) {
    got.clear();
    for (size_t i = 0; i < stream.size(); i += chunk) {
      d.feed(stream.data() + i, std::min(chunk, stream.size() - i));
      while (auto f = d.next()) got.push_back(*f);
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0].type == Type::hello);
    CHECK(got[1].payload.size() == 100000);
    CHECK(Exit::decode(got[2].payload).code == 3);
  }
}

TEST_CASE("proto: an oversize frame is rejected from its header alone", "[proto]") {
  Decoder d;
  d.feed(header("BNGR", kWireVersion, 20, 1, kMaxPayload + 1));
  REQUIRE_THROWS_WITH(d.next(), "frame too large: 1048577 bytes (limit 1048576)");
  // The decoder stays failed: the stream is out of sync.
  REQUIRE_THROWS_AS(d.feed("x"), ProtocolError);
  REQUIRE_THROWS_WITH(encode_frame(Type::stdin_data, 1, std::string(kMaxPayload + 1, 'a')),
                      "frame too large: 1048577 bytes (limit 1048576)");
  // A frame of exactly the cap is fine.
  Decoder ok;
  ok.feed(encode_frame(Type::stdin_data, 1, std::string(kMaxPayload, 'a')));
  REQUIRE(ok.next()->payload.size() == kMaxPayload);
}

TEST_CASE("proto: a smaller cap is enforced too", "[proto]") {
  Decoder d(1024);
  d.feed(encode_frame(Type::stdout_data, 1, std::string(1025, 'a')).substr(0, kHeaderSize));
  REQUIRE_THROWS_WITH(d.next(), "frame too large: 1025 bytes (limit 1024)");
}

TEST_CASE("proto: a bad magic or wire version is rejected", "[proto]") {
  Decoder a;
  a.feed(header("HTTP", kWireVersion, 1, 0, 0));
  REQUIRE_THROWS_WITH(a.next(),
                      "bad frame magic (the stream is not the banger agent protocol, or out of sync)");
  Decoder b;
  b.feed(header("BNGR", 9, 1, 0, 0));
  REQUIRE_THROWS_WITH(b.next(), "unsupported wire version 9 (this side speaks 1)");
}

TEST_CASE("proto: hello negotiates the protocol version", "[proto]") {
  Hello mine;
  Hello theirs;
  theirs.software = "banger-agent 9.0";
  theirs.version = 3;
  theirs.min_version = 2;
  REQUIRE_THROWS_WITH(negotiate(mine, theirs),
                      "protocol version mismatch: this side speaks 1..1, the peer (banger-agent 9.0) "
                      "speaks 2..3");
  theirs.min_version = 1;
  CHECK(negotiate(mine, theirs) == 1);

  Hello h;
  h.software = "banger-agent 0.1.0";
  h.capabilities = {kCapExec, kCapTty};
  auto back = Hello::decode(h.encode());
  CHECK(back.version == kProtocolVersion);
  CHECK(back.software == "banger-agent 0.1.0");
  CHECK(back.has("tty"));
  CHECK_FALSE(back.has("file"));
}

TEST_CASE("proto: every message round-trips", "[proto]") {
  Exec e;
  e.argv = {"sh", "-c", "exit 7"};
  e.env = {"A=1", "B="};
  e.cwd = "/tmp";
  e.user = "nobody";
  e.tty = true;
  e.stdin = true;
  e.rows = 50;
  e.cols = 132;
  auto e2 = Exec::decode(e.encode());
  CHECK(e2.argv == e.argv);
  CHECK(e2.env == e.env);
  CHECK(e2.cwd == "/tmp");
  CHECK(e2.user == "nobody");
  CHECK(e2.tty);
  CHECK(e2.stdin);
  CHECK(e2.rows == 50);
  CHECK(e2.cols == 132);

  Ready r{2200, 480, 2680, "pid1", "vm1", "6.1.0"};
  auto r2 = Ready::decode(r.encode());
  CHECK(r2.kernel_to_init_ms == 2200);
  CHECK(r2.init_to_ready_ms == 480);
  CHECK(r2.uptime_ms == 2680);
  CHECK(r2.mode == "pid1");
  CHECK(r2.kernel == "6.1.0");

  auto x = Exit::decode(Exit{137, 9, 1234567890123ull}.encode());
  CHECK(x.code == 137);
  CHECK(x.signal == 9);
  CHECK(x.duration_us == 1234567890123ull);
  CHECK(ExecStarted::decode(ExecStarted{4242}.encode()).pid == 4242);
  CHECK(Signal::decode(Signal{2}.encode()).signo == 2);
  CHECK(WindowSize::decode(WindowSize{40, 100}.encode()).cols == 100);
  CHECK(Failure::decode(Failure{"not_found", "no such user"}.encode()).message == "no such user");
  CHECK(Poweroff::decode(Poweroff{true}.encode()).reboot);
  Identity id;
  id.unix_ns = 1796227742123456789ull;
  id.entropy = std::string(64, '\x7f');
  id.hostname = "box-2";
  id.address = "10.77.0.9/24";
  id.gateway = "10.77.0.1";
  id.mac = "52:54:00:00:00:09";
  auto id2 = Identity::decode(id.encode());
  CHECK((id2.unix_ns == id.unix_ns && id2.entropy == id.entropy && id2.hostname == "box-2" &&
         id2.address == id.address && id2.gateway == id.gateway && id2.mac == id.mac));
  id.entropy = std::string(Identity::kMaxEntropy + 1, 'x');
  CHECK_THROWS_WITH(Identity::decode(id.encode()), "identity: a field is too long");
  auto fp = FilePut::decode(FilePut{"/a", 0755, 1, 2, 99}.encode());
  CHECK((fp.path == "/a" && fp.mode == 0755 && fp.gid == 2 && fp.size == 99));
  CHECK(FileGet::decode(FileGet{"/b"}.encode()).path == "/b");
  CHECK(FileInfo::decode(FileInfo{5, 0644}.encode()).size == 5);
  CHECK(Credit::decode(Credit{65536}.encode()).bytes == 65536);
  Ports ps;
  ps.ports = {{"tcp", "0.0.0.0", 22}, {"udp6", "::", 53}};
  auto ps2 = Ports::decode(ps.encode());
  REQUIRE(ps2.ports.size() == 2);
  CHECK(ps2.ports[1].port == 53);
  Stats st;
  st.mem_total_kib = 1 << 20;
  st.load1_centi = 150;
  CHECK(Stats::decode(st.encode()).load1_centi == 150);
}

TEST_CASE("proto: truncated or lying payloads are rejected", "[proto]") {
  Exec e;
  e.argv = {"echo", "hi"};
  std::string p = e.encode();
  REQUIRE_THROWS_WITH(Exec::decode(p.substr(0, p.size() - 1)), "truncated exec message");
  // A string list claiming a billion entries in a few bytes.
  std::string lie = Writer().u32(1000000000).take();
  REQUIRE_THROWS_WITH(Exec::decode(lie), "truncated exec message");
  // A string claiming more bytes than the payload holds.
  std::string big = Writer().u32(1).u32(4000000000u).take();
  REQUIRE_THROWS_WITH(Exec::decode(big), "truncated exec message");
}

TEST_CASE("proto: fields appended by a newer peer are ignored", "[proto]") {
  std::string p = Exit{7, 0, 1}.encode() + Writer().str("a future field").take();
  CHECK(Exit::decode(p).code == 7);
}
