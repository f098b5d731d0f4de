// A hostile registry on loopback (threat model: tests/README.md): it tries
// to get the user's credentials sent elsewhere, to stall or loop a pull, and
// to blame its failures on someone else. Each case reproduces the attack
// against the real client and pins what the user sees.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/oci/pull.h"
#include "tests/host/oci/fake_registry.h"
#include "tests/host/oci/oci_test_util.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

// A token service that records what it was sent and hands out any token.
struct TokenService {
  std::mutex mu;
  std::vector<HttpRequest> seen;
  TinyHttpServer server;
  explicit TokenService(const std::string& address)
      : server(
            [this](const HttpRequest& r, HttpConn& c) {
              {
                std::lock_guard lock(mu);
                seen.push_back(r);
              }
              c.respond(200, R"({"token":"t0k3n"})", {{"Content-Type", "application/json"}});
            },
            address) {}
  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mu);
    return seen;
  }
};

// The registry demands a bearer token from `realm` for anything not carrying
// "Bearer t0k3n".
void require_token(FakeRegistry& reg, const std::string& realm) {
  reg.fault = [realm](const HttpRequest& r, HttpConn& c, int) {
    auto it = r.headers.find("authorization");
    if (it != r.headers.end() && it->second == "Bearer t0k3n") return false;
    c.respond(
        401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
        {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"reg\",scope=\"repository:x:pull\""}});
    return true;
  };
}

oci::PullOptions with_credentials(const std::string& cache, const TempDir& home, const std::string& host) {
  auto o = fast_options(cache);
  std::string auth = "YmFuZ2VyOnMzY3JldA==";  // banger:s3cret
  fs::write_file(home.path() + "/config.json", R"({"auths":{")" + host + R"(":{"auth":")" + auth + R"("}}})");
  o.config.docker_config = home.path() + "/config.json";
  return o;
}

}  // namespace

TEST_CASE("oci hostile registry: credentials are never sent to a plain-http realm on another host",
          "[oci][hostile]") {
  FakeRegistry reg;
  TokenService foreign("127.0.0.2");
  std::string realm = "http://" + foreign.server.host() + "/token";
  require_token(reg, realm);
  TempDir cache, home;
  Error e = pull_error(reg.ref(), with_credentials(cache.path(), home, reg.host()));
  CHECK(e.kind() == ErrorKind::auth);
  CHECK(e.message() == "pulling " + reg.ref() + ": manifest: token realm " + realm +
                           " refused: banger does not send the credentials for " + reg.host() +
                           " to another host (" + foreign.server.host() + ") over plain http");
  CHECK(e.hint() ==
        "the registry at " + reg.host() +
            " hands its logins to another host; if that is expected, give it an https token realm, or "
            "remove the credentials for " +
            reg.host() + " from " + home.path() + "/config.json to pull anonymously");
  CHECK(foreign.requests().empty());
}

TEST_CASE("oci hostile registry: without credentials a foreign realm only ever sees an anonymous request",
          "[oci][hostile]") {
  FakeRegistry reg;
  TokenService foreign("127.0.0.2");
  require_token(reg, "http://" + foreign.server.host() + "/token");
  TempDir cache;
  oci::PulledImage img = oci::pull(reg.ref(), fast_options(cache.path()));
  CHECK(img.layers.size() == 3);
  auto seen = foreign.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].headers.count("authorization") == 0);
}

TEST_CASE("oci hostile registry: a realm on the registry's own loopback host gets the credentials",
          "[oci][hostile]") {
  FakeRegistry reg;
  TokenService own("127.0.0.1");
  require_token(reg, "http://" + own.server.host() + "/token");
  TempDir cache, home;
  oci::PulledImage img = oci::pull(reg.ref(), with_credentials(cache.path(), home, reg.host()));
  CHECK(img.layers.size() == 3);
  auto seen = own.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].headers["authorization"] == "Basic YmFuZ2VyOnMzY3JldA==");
}

TEST_CASE("oci hostile registry: an https registry's token exchange is never downgraded to http",
          "[oci][hostile]") {
  // docker-registry itself, serving TLS, names a plain-http token realm. It
  // is reached as an https mirror (loopback registries are plain http);
  // the refusal makes the pull fall back to the origin, and the token
  // service never sees a request, with or without the credentials.
  Registry tls({RegistryOptions::Auth::token, /*tls=*/true});
  FakeRegistry origin;
  TempDir cache, home;
  auto o = fast_options(cache.path());
  o.config.ca_file = tls.ca_file();
  o.config.docker_config = tls.write_docker_config(home.path());
  o.config.mirrors[origin.host()] = {"https://" + tls.host()};
  oci::PulledImage img = oci::pull(origin.ref(), o);
  CHECK(img.layers.size() == 3);
  CHECK(tls.token_requests() == 0);
  CHECK(tls.log().find("/v2/x/manifests/y") != std::string::npos);  // the mirror was asked first
}

TEST_CASE("oci hostile registry: a token endpoint's huge Retry-After fails at once", "[oci][hostile]") {
  FakeRegistry reg;
  TinyHttpServer slow([](const HttpRequest&, HttpConn& c) {
    c.respond(429, "{}", {{"Retry-After", "100000"}});
  });
  std::string realm = "http://" + slow.host() + "/token";
  require_token(reg, realm);
  TempDir cache;
  auto start = std::chrono::steady_clock::now();
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() ==
        "pulling " + reg.ref() + ": manifest: token from " + realm +
            ": 429 too many requests, and the registry asks to wait 100000 s more (banger waits at "
            "most 60 s)");
  CHECK(e.hint() == "the registry at " + slow.host() + " is rate-limiting or overloaded; try again later");
  CHECK(slow.requests() == 1);
}

TEST_CASE("oci hostile registry: Ctrl-C while waiting on a token endpoint is an interrupt (exit 130)",
          "[oci][hostile]") {
  FakeRegistry reg;
  TinyHttpServer slow([](const HttpRequest&, HttpConn& c) { c.respond(429, "{}", {{"Retry-After", "30"}}); });
  require_token(reg, "http://" + slow.host() + "/token");
  TempDir cache;
  std::thread ctrl_c([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    set_interrupted(true);  // as the SIGINT handler does
  });
  auto start = std::chrono::steady_clock::now();
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  ctrl_c.join();
  set_interrupted(false);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(e.kind() == ErrorKind::interrupted);
  CHECK(exit_code(e.kind()) == 130);
  CHECK(e.message() == "pulling " + reg.ref() + ": interrupted");
}

TEST_CASE("oci hostile registry: a manifest 429 with a huge Retry-After fails at once", "[oci][hostile]") {
  FakeRegistry reg;
  reg.fault = [](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/manifests/y") return false;
    c.respond(429, "{}", {{"Retry-After", "100000"}});
    return true;
  };
  TempDir cache;
  auto start = std::chrono::steady_clock::now();
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() ==
        "pulling " + reg.ref() +
            ": manifest: 429 too many requests, and the registry asks to wait 100000 s more (banger "
            "waits at most 60 s)");
  CHECK(e.hint() == "the registry at " + reg.host() + " is rate-limiting or overloaded; try again later");
  CHECK(reg.requests_for("/v2/x/manifests/y").size() == 1);
}

TEST_CASE("oci hostile registry: Retry-After waits add up to the cap, not the cap per attempt",
          "[oci][hostile]") {
  FakeRegistry reg;
  reg.fault = [](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/manifests/y") return false;
    c.respond(503, "{}", {{"Retry-After", "1"}});
    return true;
  };
  TempDir cache;
  auto o = fast_options(cache.path());
  o.retry.attempts = 10;
  o.retry.max_retry_after = std::chrono::milliseconds(2500);
  auto start = std::chrono::steady_clock::now();
  Error e = pull_error(reg.ref(), o);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= std::chrono::seconds(2));
  CHECK(took < std::chrono::seconds(4));
  CHECK(e.message() ==
        "pulling " + reg.ref() +
            ": manifest: 503 service unavailable, and the registry asks to wait 1 s more (banger "
            "waits at most 2 s)");
  CHECK(reg.requests_for("/v2/x/manifests/y").size() == 3);
}

TEST_CASE("oci hostile registry: a redirect loop fails once, not retried, naming the host",
          "[oci][hostile]") {
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/manifests/y") return false;
    c.respond(307, "", {{"Location", "http://" + reg.host() + "/v2/x/manifests/y"}});
    return true;
  };
  TempDir cache;
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() ==
        "pulling " + reg.ref() + ": manifest: maximum (10) redirects followed (at " + reg.host() + ")");
  CHECK(e.hint() == "the server at " + reg.host() +
                        " does not answer like a registry (banger does not retry this); check the registry's "
                        "address and configuration");
  CHECK(reg.requests_for("/v2/x/manifests/y").size() == 11);  // one transfer: the first ask and 10 redirects
}

TEST_CASE("oci hostile registry: a redirect to a dead host is reported as that host's failure",
          "[oci][hostile]") {
  FakeRegistry reg;
  // A port on 127.0.0.2 that nothing listens on: bind one, then close it.
  std::string dead;
  {
    TinyHttpServer gone([](const HttpRequest&, HttpConn&) {}, "127.0.0.2");
    dead = gone.host();
  }
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/blobs/" + reg.big()) return false;
    c.respond(307, "", {{"Location", "http://" + dead + "/blob"}});
    return true;
  };
  TempDir cache;
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() == "pulling " + reg.ref() + ": cannot connect to " + dead + " (redirected there by " +
                           reg.host() + "): connection refused");
  CHECK(e.hint() == "the registry at " + reg.host() + " sent banger to " + dead +
                        ", which does not answer; the registry's storage or redirect setup is broken");
  CHECK(reg.requests_for("/v2/x/blobs/" + reg.big()).size() == 1);
}

TEST_CASE("oci hostile registry: a redirect target's refusal is reported as that host's, not the registry's",
          "[oci][hostile]") {
  FakeRegistry reg;
  TinyHttpServer storage([](const HttpRequest&, HttpConn& c) { c.respond(403, "denied"); }, "127.0.0.2");
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/blobs/" + reg.big()) return false;
    c.respond(307, "", {{"Location", "http://" + storage.host() + "/blob"}});
    return true;
  };
  TempDir cache;
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() == "pulling " + reg.ref() + ": blob " + reg.big() + ": 403 forbidden from " +
                           storage.host() + " (redirected there by " + reg.host() + ")");
  CHECK(e.hint() == "the registry at " + reg.host() + " sent banger to " + storage.host() +
                        ", which refused the request; the registry's storage or redirect setup is broken");
}
