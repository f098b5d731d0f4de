#include <catch2/catch.hpp>

#include <csignal>

#include "host/core/error.h"
#include "host/core/process.h"

using namespace banger;

TEST_CASE("process: run_capture feeds stdin and captures both streams and the exit code", "[core]") {
  RunResult r = run_capture({"sh", "-c", "cat; echo oops >&2; exit 3"}, "hello");
  CHECK(r.out == "hello");
  CHECK(r.err == "oops\n");
  CHECK(r.exit_code == 3);
}

TEST_CASE("process: a missing program is a not_found error naming it", "[core]") {
  try {
    run_capture({"no-such-program-banger"});
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "program not found: no-such-program-banger");
  }
}

TEST_CASE("process: run_checked reports the exit code and stderr", "[core]") {
  try {
    run_checked({"sh", "-c", "echo broken >&2; exit 2"}, "frobnicating");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.message() == "frobnicating failed (exit 2): broken");
  }
}

TEST_CASE("process: a killed child reports 128+signal and the destructor reaps", "[core]") {
  SpawnOptions o;
  o.argv = {"sleep", "30"};
  Process p = Process::spawn(o);
  CHECK(p.running());
  p.signal(SIGKILL);
  CHECK(p.wait() == 128 + SIGKILL);
  CHECK_FALSE(p.wait_for(std::chrono::milliseconds(10)) == std::nullopt);
}
