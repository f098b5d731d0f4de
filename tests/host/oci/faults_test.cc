// Registry failures docker-registry cannot produce on demand (429, 5xx,
// truncated bodies, Retry-After, bad Range answers, stalls), served by a
// real socket peer on loopback.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/core/process.h"
#include "host/oci/digest.h"
#include "host/oci/pull.h"
#include "tests/host/oci/fake_registry.h"
#include "tests/host/oci/oci_test_util.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

void check_image(const oci::PulledImage& img, const FakeRegistry& reg) {
  REQUIRE(img.layers.size() == 3);
  for (size_t i = 0; i < 3; i++) CHECK(fs::read_file(img.layers[i].path) == reg.image.stored[i]);
}

// A small filesystem of the test's own (a tmpfs of `size`) at `dir`,
// unmounted with the test.
struct SmallDisk {
  std::string dir;
  SmallDisk(std::string d, const std::string& size) : dir(std::move(d)) {
    fs::make_dirs(dir);
    run_checked({"mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir}, "mounting a test tmpfs");
  }
  ~SmallDisk() { run_capture({"umount", dir}); }
};

// Sends the headers and the first half of `data`, then hangs up.
void truncate(HttpConn& c, const std::string& data) {
  c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(data.size()) + "\r\n\r\n");
  c.send(data.substr(0, data.size() / 2));
  c.close();
}

}  // namespace

TEST_CASE("oci pull faults: 500s are retried, then the pull succeeds", "[oci][faults]") {
  FakeRegistry reg;
  reg.fault = [](const HttpRequest& r, HttpConn& c, int nth) {
    if (r.path == "/v2/x/manifests/y" && nth <= 2) {
      c.respond(500, "oops");
      return true;
    }
    return false;
  };
  TempDir cache;
  check_image(oci::pull(reg.ref(), fast_options(cache.path())), reg);
  CHECK(reg.requests_for("/v2/x/manifests/y").size() == 3);
}

TEST_CASE("oci pull faults: 429 honours Retry-After", "[oci][faults]") {
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int nth) {
    if (r.path == "/v2/x/blobs/" + reg.big() && nth == 1) {
      c.respond(429, "{}", {{"Retry-After", "1"}});
      return true;
    }
    return false;
  };
  TempDir cache;
  auto start = std::chrono::steady_clock::now();
  check_image(oci::pull(reg.ref(), fast_options(cache.path())), reg);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= std::chrono::milliseconds(950));
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("oci pull faults: a registry that keeps failing is a network error after the retries",
          "[oci][faults]") {
  FakeRegistry reg;
  reg.fault = [](const HttpRequest&, HttpConn& c, int) {
    c.respond(503, R"({"errors":[{"code":"UNAVAILABLE","message":"try later"}]})");
    return true;
  };
  TempDir cache;
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() == "pulling " + reg.ref() +
                           ": manifest: 503 service unavailable (try later) (gave up after 3 attempts)");
  CHECK(e.hint() == "the registry at " + reg.host() + " keeps failing; try again later");
  CHECK(reg.requests_for("/v2/x/manifests/y").size() == 3);
}

TEST_CASE("oci pull faults: persistent 429 and 500 on a blob give up with a network error", "[oci][faults]") {
  for (int status : {429, 500}) {
    FakeRegistry reg;
    reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
      if (r.path != "/v2/x/blobs/" + reg.big()) return false;
      c.respond(status, "", {{"Retry-After", "0"}});
      return true;
    };
    TempDir cache;
    Error e = pull_error(reg.ref(), fast_options(cache.path()));
    CHECK(e.kind() == ErrorKind::network);
    CHECK(e.message() == "pulling " + reg.ref() + ": blob " + reg.big() + ": " +
                             (status == 429 ? "429 too many requests" : "500 internal server error") +
                             " (gave up after 3 attempts)");
    CHECK(reg.requests_for("/v2/x/blobs/" + reg.big()).size() == 3);
    CHECK_FALSE(std::filesystem::exists(cache.path() + "/blobs/sha256/" + reg.big().substr(7)));
  }
}

TEST_CASE("oci pull faults: a truncated blob body resumes with Range on a matching 206", "[oci][faults]") {
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int nth) {
    if (r.path == "/v2/x/blobs/" + reg.big() && nth == 1) {
      truncate(c, reg.blobs[reg.big()]);
      return true;
    }
    return false;
  };
  TempDir cache;
  check_image(oci::pull(reg.ref(), fast_options(cache.path())), reg);
  auto reqs = reg.requests_for("/v2/x/blobs/" + reg.big());
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].headers.count("range") == 0);
  CHECK(reqs[1].headers["range"] == "bytes=" + std::to_string(reg.blobs[reg.big()].size() / 2) + "-");
}

TEST_CASE("oci pull faults: a server that ignores Range makes the download start over", "[oci][faults]") {
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int nth) {
    if (r.path != "/v2/x/blobs/" + reg.big()) return false;
    if (nth == 1) truncate(c, reg.blobs[reg.big()]);
    else c.respond(200, reg.blobs[reg.big()]);  // full body despite Range
    return true;
  };
  TempDir cache;
  check_image(oci::pull(reg.ref(), fast_options(cache.path())), reg);
  CHECK(reg.requests_for("/v2/x/blobs/" + reg.big()).size() == 2);
}

TEST_CASE("oci pull faults: a 206 with the wrong Content-Range is not appended", "[oci][faults]") {
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int nth) {
    if (r.path != "/v2/x/blobs/" + reg.big()) return false;
    const std::string& data = reg.blobs[reg.big()];
    if (nth == 1) {
      truncate(c, data);
    } else if (nth == 2) {
      // Claims to start at byte 10, whatever was asked.
      c.respond(206, data.substr(10),
                {{"Content-Range",
                  "bytes 10-" + std::to_string(data.size() - 1) + "/" + std::to_string(data.size())}});
    } else {
      FakeRegistry::serve_blob(r, c, data);
    }
    return true;
  };
  TempDir cache;
  check_image(oci::pull(reg.ref(), fast_options(cache.path())), reg);
  auto reqs = reg.requests_for("/v2/x/blobs/" + reg.big());
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[2].headers.count("range") == 0);
}

TEST_CASE("oci pull faults: a body that always breaks gives up with a network error", "[oci][faults]") {
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/blobs/" + reg.big()) return false;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(reg.blobs[reg.big()].size()) +
           "\r\n\r\nab");
    c.close();
    return true;
  };
  TempDir cache;
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message().rfind("pulling " + reg.ref() + ": blob " + reg.big() + ": ", 0) == 0);
  CHECK(e.message().find("(gave up after 3 attempts)") != std::string::npos);
  // Only a resumable partial remains, never a blob under its final name.
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + reg.big().substr(7)));
}

TEST_CASE("oci pull faults: the overall deadline stops a stalled registry", "[oci][faults]") {
  // Declared before the registry, so it outlives the server thread that polls it.
  std::atomic<bool> release{false};
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/manifests/y") return false;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c.close();
    return true;
  };
  TempDir cache;
  auto o = fast_options(cache.path());
  o.timeout = std::chrono::milliseconds(300);
  Error e = pull_error(reg.ref(), o);
  release = true;
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() == "pulling " + reg.ref() + ": manifest: gave up at the pull's deadline");
}

TEST_CASE("oci pull faults: oversized and mismatching manifests are refused", "[oci][faults]") {
  FakeRegistry reg;
  TempDir cache;
  SECTION("larger than 4 MiB") {
    reg.fault = [](const HttpRequest& r, HttpConn& c, int) {
      if (r.path != "/v2/x/manifests/y") return false;
      c.respond(200, std::string(5 << 20, ' '));
      return true;
    };
    Error e = pull_error(reg.ref(), fast_options(cache.path()));
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "pulling " + reg.ref() + ": manifest: larger than 4194304 bytes");
  }
  SECTION("Docker-Content-Digest does not match the body") {
    std::string other = "sha256:" + std::string(64, 'a');
    reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
      if (r.path != "/v2/x/manifests/y") return false;
      c.respond(200, reg.manifest, {{"Docker-Content-Digest", other}});
      return true;
    };
    Error e = pull_error(reg.ref(), fast_options(cache.path()));
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "pulling " + reg.ref() + ": manifest " + other + ": digest mismatch (expected " +
                             other + ", got " + reg.image.manifest.digest + ")");
  }
  SECTION("a missing blob is not_found") {
    reg.blobs.erase(reg.image.layers[2].digest);
    Error e = pull_error(reg.ref(), fast_options(cache.path()));
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(e.message() == "pulling " + reg.ref() + ": blob " + reg.image.layers[2].digest +
                             ": 404 not found (blob unknown to registry)");
  }
}

TEST_CASE("oci pull faults: Ctrl-C stops the pull and leaves a resumable partial", "[oci][faults]") {
  std::atomic<bool> release{false};  // outlives the registry's server thread
  FakeRegistry reg;
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int nth) {
    if (r.path != "/v2/x/blobs/" + reg.big() || nth != 1) return false;
    const std::string& data = reg.blobs[reg.big()];
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(data.size()) + "\r\n\r\n");
    c.send(data.substr(0, data.size() / 2));
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c.close();
    return true;
  };
  TempDir cache;
  auto o = fast_options(cache.path());
  o.progress = [&](const std::string& digest, int64_t done, int64_t) {
    if (digest == reg.big() && done > 0) set_interrupted(true);  // as the SIGINT handler does
  };
  Error e = pull_error(reg.ref(), o);
  set_interrupted(false);
  release = true;
  CHECK(e.kind() == ErrorKind::interrupted);
  CHECK(e.message() == "pulling " + reg.ref() + ": interrupted");
  std::string partial = cache.path() + "/blobs/sha256/" + reg.big().substr(7) + ".partial";
  CHECK(fs::exists(partial));
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + reg.big().substr(7)));
  // The next pull resumes from the partial.
  o.progress = nullptr;
  check_image(oci::pull(reg.ref(), o), reg);
  auto reqs = reg.requests_for("/v2/x/blobs/" + reg.big());
  CHECK(reqs.back().headers.count("range") == 1);
  CHECK_FALSE(fs::exists(partial));
}

TEST_CASE(
    "oci pull faults: a disk that fills up during a blob download is a clear error and drops the partial",
    "[oci][faults]") {
  FakeRegistry reg;
  TempDir t;
  SmallDisk disk(t / "small", "4m");
  const std::string& small = disk.dir;
  std::string filler = small + "/filler";
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int nth) {
    if (r.path != "/v2/x/blobs/" + reg.big() || nth != 1) return false;
    const std::string& data = reg.blobs[reg.big()];
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(data.size()) + "\r\n\r\n");
    c.send(data.substr(0, data.size() / 2));
    // The other (small) layers are in first, so this blob is the one that
    // meets the full disk. Then something else on the host fills it.
    for (int i = 0; i < 500; i++) {
      bool all = true;
      for (size_t k = 1; k < reg.image.layers.size(); k++)
        all = all && fs::exists(small + "/blobs/sha256/" + reg.image.layers[k].digest.substr(7));
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string chunk(1 << 16, 'f');
    while (::write(fd, chunk.data(), chunk.size()) > 0) {
    }
    ::close(fd);
    c.send(data.substr(data.size() / 2));
    return true;
  };
  Error e = pull_error(reg.ref(), fast_options(small));
  CHECK(e.kind() == ErrorKind::io);
  std::string head =
      "pulling " + reg.ref() + ": blob " + reg.big() + ": no space left on " + small + "/blobs/sha256 (";
  CHECK(e.message().substr(0, head.size()) == head);
  CHECK(e.message().find(" MB more needed, ") != std::string::npos);
  CHECK(e.message().substr(e.message().size() - 9) == " MB free)");
  CHECK(e.hint() ==
        "free space there, or set BANGER_HOME to a directory on a bigger filesystem; "
        "the partial download was removed");
  // Nothing that cannot finish holds the disk: no partial, no blob.
  CHECK_FALSE(fs::exists(small + "/blobs/sha256/" + reg.big().substr(7) + ".partial"));
  CHECK_FALSE(fs::exists(small + "/blobs/sha256/" + reg.big().substr(7)));
  // Once there is room again, the same pull works.
  ::unlink(filler.c_str());
  check_image(oci::pull(reg.ref(), fast_options(small)), reg);
}

TEST_CASE("oci pull faults: a blob known not to fit is refused before its download", "[oci][faults]") {
  FakeRegistry reg;
  TempDir t;
  SmallDisk disk(t / "small", "512k");
  const std::string& small = disk.dir;
  Error e = pull_error(reg.ref(), fast_options(small));
  CHECK(e.kind() == ErrorKind::io);
  std::string head = "pulling " + reg.ref() + ": blob " + reg.big() + ": needs ";
  CHECK(e.message().substr(0, head.size()) == head);
  CHECK(e.message().find(" MB on " + small + "/blobs/sha256, only ") != std::string::npos);
  CHECK(e.hint() == "free space there, or set BANGER_HOME to a directory on a bigger filesystem");
  CHECK(reg.requests_for("/v2/x/blobs/" + reg.big()).empty());
}

TEST_CASE("oci pull faults: a manifest whose layer digest is a path is refused before any download",
          "[oci][faults]") {
  FakeRegistry reg;
  std::string evil = reg.manifest;
  std::string victim = reg.image.layers[0].digest;
  evil.replace(evil.find(victim), victim.size(), "sha256:../../../../tmp/x");
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/manifests/y") return false;
    c.respond(200, evil, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}});
    return true;
  };
  TempDir cache;
  Error e = pull_error(reg.ref(), fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() == "pulling " + reg.ref() + ": manifest " + oci::sha256_digest(evil) +
                           " layer 1: invalid digest \"sha256:../../../../tmp/x\"");
  CHECK(reg.requests_for("/v2/x/blobs/" + reg.image.layers[1].digest).empty());
}

TEST_CASE("oci pull faults: layers download in parallel", "[oci][faults]") {
  FakeRegistry reg;
  // The big layer's answer waits until another layer was asked for.
  reg.fault = [&](const HttpRequest& r, HttpConn& c, int) {
    if (r.path != "/v2/x/blobs/" + reg.big()) return false;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (reg.requests_for("/v2/x/blobs/" + reg.image.layers[2].digest).empty() &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    FakeRegistry::serve_blob(r, c, reg.blobs[reg.big()]);
    return true;
  };
  TempDir cache;
  auto start = std::chrono::steady_clock::now();
  check_image(oci::pull(reg.ref(), fast_options(cache.path())), reg);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
}

TEST_CASE("oci pull faults: concurrent pulls of one image share the cache safely", "[oci][faults]") {
  FakeRegistry reg;
  TempDir cache;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; i++)
    threads.emplace_back([&] {
      try {
        oci::PulledImage img = oci::pull(reg.ref(), fast_options(cache.path()));
        if (img.layers.size() == 3) ok++;
      } catch (const std::exception& e) {
        WARN(e.what());
      }
    });
  for (auto& t : threads) t.join();
  CHECK(ok == 4);
  for (size_t i = 0; i < 3; i++)
    CHECK(fs::read_file(cache.path() + "/blobs/sha256/" + reg.image.layers[i].digest.substr(7)) ==
          reg.image.stored[i]);
  for (const auto& e : std::filesystem::directory_iterator(cache.path() + "/blobs/sha256"))
    CHECK(e.path().extension() != ".partial");
}

TEST_CASE("oci pull faults: a mirror without the image falls back to the registry", "[oci][faults]") {
  FakeRegistry origin;
  TinyHttpServer empty([](const HttpRequest&, HttpConn& c) {
    c.respond(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  });
  TempDir cache;
  auto o = fast_options(cache.path());
  o.config.mirrors[origin.host()] = {empty.host()};
  check_image(oci::pull(origin.ref(), o), origin);
  CHECK(empty.requests() >= 1);
}
