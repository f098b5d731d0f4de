#include <catch2/catch.hpp>

#include <set>

#include "host/core/error.h"

using namespace banger;

TEST_CASE("errors: context is prepended and kind and hint are kept", "[core]") {
  Error e(ErrorKind::not_found, "manifest unknown", "check the tag");
  Error c = e.with_context("pulling 127.0.0.1:5000/a:b");
  CHECK(c.message() == "pulling 127.0.0.1:5000/a:b: manifest unknown");
  CHECK(c.kind() == ErrorKind::not_found);
  CHECK(c.hint() == "check the tag");
}

TEST_CASE("errors: every kind has a name that round-trips and its own exit code", "[core]") {
  std::set<int> codes;
  for (auto k :
       {ErrorKind::not_found, ErrorKind::invalid_input, ErrorKind::auth, ErrorKind::network, ErrorKind::io,
        ErrorKind::conflict, ErrorKind::unsupported, ErrorKind::interrupted, ErrorKind::internal}) {
    CHECK(kind_from_name(kind_name(k)) == k);
    CHECK(exit_code(k) != 0);
    codes.insert(exit_code(k));
  }
  CHECK(codes.size() == 9);
  CHECK(exit_code(ErrorKind::interrupted) == 130);
}

TEST_CASE("errors: errno failures name the thing and map ENOENT to not_found", "[core]") {
  errno = ENOENT;
  try {
    fail_errno("reading /nope");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "reading /nope: No such file or directory");
  }
}
