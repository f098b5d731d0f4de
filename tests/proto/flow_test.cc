// The window accounting of per-stream flow control (proto/flow.h), shared by
// the agent, the supervisor's router and its clients.
#include <catch2/catch.hpp>

#include <deque>
#include <limits>

#include "proto/flow.h"
#include "proto/wire.h"

using namespace banger::proto;

TEST_CASE("flow: a sender starts with one window and stops when it is used up", "[proto]") {
  SendWindow w(true);
  CHECK(w.limited());
  CHECK(w.room() == kStreamWindow);
  w.sent(kDataChunk);
  CHECK(w.room() == kStreamWindow - kDataChunk);
  w.sent(kStreamWindow);  // more than is left: room stays at 0, no wrap-around
  CHECK(w.room() == 0);
  w.grant(1000);
  CHECK(w.room() == 1000);
}

TEST_CASE("flow: without credit a sender never waits, and unlimit() releases one that does", "[proto]") {
  SendWindow off;
  CHECK_FALSE(off.limited());
  off.sent(size_t(1) << 40);
  CHECK(off.room() == std::numeric_limits<size_t>::max());

  SendWindow on(true);
  on.sent(kStreamWindow);
  REQUIRE(on.room() == 0);
  on.unlimit();
  CHECK(on.room() == std::numeric_limits<size_t>::max());
}

TEST_CASE("flow: a receiver grants everything it consumed, in batches of half a window", "[proto]") {
  ReceiveWindow r;
  size_t consumed = 0, granted = 0;
  int grants = 0;
  for (int i = 0; i < 100; i++) {
    consumed += 10000;
    if (uint32_t g = r.consumed(10000)) {
      CHECK(g >= kGrantBatch);
      granted += g;
      grants++;
    }
    // What is held back is always less than half a window.
    CHECK(consumed - granted < kGrantBatch);
  }
  CHECK(grants == 3);  // 1,000,000 bytes: a grant each 262,144+ bytes
  CHECK(r.consumed(kStreamWindow) == kStreamWindow + (consumed - granted));
}

TEST_CASE("flow: a sender and a slow receiver move every byte with at most a window in flight", "[proto]") {
  // The agent side reads a command's output as far as its window allows; the
  // host side takes one chunk per round (a slow terminal) and grants back.
  const size_t total = 64u << 20;
  SendWindow sender(true);
  ReceiveWindow receiver;
  std::deque<size_t> in_flight;  // chunks sent and not yet consumed
  size_t sent = 0, received = 0, held = 0, max_held = 0, stalled_rounds = 0;
  while (received < total) {
    bool moved = false;
    while (sent < total && sender.room() > 0) {
      size_t n = std::min({size_t(kDataChunk), sender.room(), total - sent});
      sender.sent(n);
      sent += n;
      held += n;
      in_flight.push_back(n);
      moved = true;
    }
    max_held = std::max(max_held, held);
    if (!in_flight.empty()) {
      size_t n = in_flight.front();
      in_flight.pop_front();
      held -= n;
      received += n;
      if (uint32_t g = receiver.consumed(n)) sender.grant(g);
      moved = true;
    }
    if (!moved) stalled_rounds++;
    REQUIRE(stalled_rounds == 0);  // never both sides waiting: no deadlock
  }
  CHECK(sent == total);
  CHECK(received == total);
  CHECK(max_held == kStreamWindow);
}
