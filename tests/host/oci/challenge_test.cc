#include <catch2/catch.hpp>

#include "host/oci/challenge.h"

using banger::oci::parse_challenge;

TEST_CASE("oci challenge: a Bearer header gives its realm, service and scope", "[oci]") {
  auto c = parse_challenge(R"(Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull")");
  CHECK(c.scheme == "bearer");
  CHECK(c.params.at("realm") == "https://auth/token");
  CHECK(c.params.at("service") == "reg");
  CHECK(c.params.at("scope") == "repository:a/b:pull");
}

TEST_CASE("oci challenge: case, escapes, unquoted values and garbage", "[oci]") {
  auto c = parse_challenge(R"(BEARER Realm=plain,error_description="say \"no\"")");
  CHECK(c.scheme == "bearer");
  CHECK(c.params.at("realm") == "plain");
  CHECK(c.params.at("error_description") == R"(say "no")");
  CHECK(parse_challenge("Basic").params.empty());
  CHECK(parse_challenge("").scheme.empty());
  auto cut = parse_challenge(R"(Bearer realm="never closed)");
  CHECK(cut.params.at("realm") == "never closed");
  CHECK(parse_challenge("Bearer noequals").params.empty());
}
