// Kernel archive downloads over the shared libcurl setup (host/core/http.h):
// retried like registry requests, verified, never left half-written.
#include <catch2/catch.hpp>

#include <atomic>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/sha256.h"
#include "host/kernel/download.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

TEST_CASE("kernel download: a 503 and a broken body are retried, then the archive is verified", "[kernel]") {
  std::string archive(300000, 'k');
  std::atomic<int> n{0};
  TinyHttpServer server([&](const HttpRequest&, HttpConn& c) {
    int nth = ++n;
    if (nth == 1) {
      c.respond(503, "busy");
    } else if (nth == 2) {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(archive.size()) + "\r\n\r\n" +
             archive.substr(0, 1000));
      c.close();
    } else {
      c.respond(200, archive);
    }
  });
  TempDir t;
  std::string dest = t / "k.deb";
  kernel::download_verified("http://" + server.host() + "/k.deb", sha256_digest(archive), dest);
  CHECK(fs::read_file(dest) == archive);
  CHECK(n == 3);
}

TEST_CASE("kernel download: a 404 is not retried and leaves no file", "[kernel]") {
  std::atomic<int> n{0};
  TinyHttpServer server([&](const HttpRequest&, HttpConn& c) {
    n++;
    c.respond(404, "no");
  });
  TempDir t;
  std::string dest = t / "k.deb";
  std::string url = "http://" + server.host() + "/k.deb";
  try {
    kernel::download_verified(url, std::string(64, 'a'), dest);
    FAIL("the download did not fail");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::network);
    CHECK(e.message() == "downloading kernel archive " + url + ": 404 not found");
  }
  CHECK(n == 1);
  CHECK_FALSE(fs::exists(dest));
}
