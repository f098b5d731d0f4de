// oci::pull against Debian's real docker-registry on loopback.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/oci/digest.h"
#include "host/oci/pull.h"
#include "tests/host/oci/oci_test_util.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;
namespace stdfs = std::filesystem;

namespace {

int count(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) n++;
  return n;
}

// A registry holding demo:v1 (pushed with skopeo from an OCI layout).
struct Pushed {
  TempDir tmp;
  DemoImage image;
  explicit Pushed(const Registry& reg, const std::string& name = "demo:v1") {
    OciLayoutWriter w(tmp / "layout");
    image = write_demo_image(w);
    w.tag(image.manifest, "v1");
    reg.push("oci:" + tmp.path() + "/layout:v1", name);
  }
};

void check_demo(const oci::PulledImage& img, const DemoImage& d) {
  CHECK(img.manifest_digest == d.manifest.digest);
  REQUIRE(img.layers.size() == 3);
  CHECK(img.layers[0].compression == oci::Compression::gzip);
  CHECK(img.layers[1].compression == oci::Compression::zstd);
  CHECK(img.layers[2].compression == oci::Compression::none);
  CHECK(img.layers[1].media_type == "application/vnd.oci.image.layer.v1.tar+zstd");
  for (size_t i = 0; i < 3; i++) {
    CHECK(img.layers[i].digest == d.layers[i].digest);
    CHECK(img.layers[i].size == d.layers[i].size);
    CHECK(fs::read_file(img.layers[i].path) == d.stored[i]);
  }
  CHECK(img.platform.to_string() == "linux/amd64");
  CHECK(img.config["rootfs"]["diff_ids"].size() == 3);
}

}  // namespace

TEST_CASE("oci pull: a gzip+zstd+plain image comes from docker-registry verified into the cache",
          "[oci][registry]") {
  Registry reg;
  Pushed p(reg);
  TempDir cache;
  auto o = fast_options(cache.path());
  std::map<std::string, std::pair<int64_t, int64_t>> last;
  o.progress = [&](const std::string& digest, int64_t done, int64_t total) { last[digest] = {done, total}; };
  oci::PulledImage img = oci::pull(reg.host() + "/demo:v1", o);
  check_demo(img, p.image);
  CHECK(img.ref.to_string() == reg.host() + "/demo:v1");
  CHECK(img.downloaded_blobs == 4);  // config + 3 layers
  for (const auto& l : img.layers) {
    CHECK(last[l.digest].first == l.size);
    CHECK(last[l.digest].second == l.size);
    CHECK(l.path == stdfs::path(cache.path()) / "blobs/sha256" / l.digest.substr(7));
  }
  // Only verified blobs under final names, no partials.
  for (const auto& e : stdfs::directory_iterator(cache.path() + "/blobs/sha256")) {
    std::string name = e.path().filename();
    CHECK(name.find('.') == std::string::npos);
    CHECK(oci::sha256_file(e.path()) == "sha256:" + name);
  }
}

TEST_CASE("oci pull: a second pull downloads no blobs", "[oci][registry]") {
  Registry reg;
  Pushed p(reg);
  TempDir cache;
  auto o = fast_options(cache.path());
  oci::pull(reg.host() + "/demo:v1", o);
  int blob_gets = count(reg.log(), "GET /v2/demo/blobs/");
  CHECK(blob_gets == 4);
  oci::PulledImage again = oci::pull(reg.host() + "/demo:v1", o);
  check_demo(again, p.image);
  CHECK(again.downloaded_bytes == 0);
  CHECK(again.downloaded_blobs == 0);
  CHECK(count(reg.log(), "GET /v2/demo/blobs/") == blob_gets);
  // By digest, fully cached: no request at all.
  int manifest_gets = count(reg.log(), "GET /v2/demo/manifests/");
  oci::PulledImage pinned = oci::pull(reg.host() + "/demo@" + p.image.manifest.digest, o);
  check_demo(pinned, p.image);
  CHECK(count(reg.log(), "GET /v2/demo/manifests/") == manifest_gets);
}

TEST_CASE("oci pull: an interrupted blob download resumes with a Range request", "[oci][registry]") {
  Registry reg;
  Pushed p(reg);
  TempDir cache;
  auto o = fast_options(cache.path());
  const auto& big = p.image.layers[0];
  fs::make_dirs(cache.path() + "/blobs/sha256", 0755);
  std::string partial = cache.path() + "/blobs/sha256/" + big.digest.substr(7) + ".partial";
  fs::write_file(partial, p.image.stored[0].substr(0, 300000));
  oci::PulledImage img = oci::pull(reg.host() + "/demo:v1", o);
  check_demo(img, p.image);
  CHECK_FALSE(fs::exists(partial));
  // The registry answered the big layer with 206 Partial Content.
  std::string log = reg.log();
  CHECK(log.find("GET /v2/demo/blobs/" + big.digest + " HTTP/1.1\" 206") != std::string::npos);
}

TEST_CASE("oci pull: a corrupt partial file is downloaded again from byte 0", "[oci][registry]") {
  Registry reg;
  Pushed p(reg);
  TempDir cache;
  auto o = fast_options(cache.path());
  const auto& big = p.image.layers[0];
  fs::make_dirs(cache.path() + "/blobs/sha256", 0755);
  std::string partial = cache.path() + "/blobs/sha256/" + big.digest.substr(7) + ".partial";
  fs::write_file(partial, std::string(300000, 'x'));
  oci::PulledImage img = oci::pull(reg.host() + "/demo:v1", o);
  check_demo(img, p.image);
  CHECK_FALSE(fs::exists(partial));
}

TEST_CASE("oci pull: a blob the registry serves corrupted is a digest mismatch and never cached",
          "[oci][registry]") {
  Registry reg;
  Pushed p(reg);
  const auto& l = p.image.layers[2];
  std::string hex = l.digest.substr(7);
  std::string data =
      reg.dir() + "/data/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  REQUIRE(fs::exists(data));
  std::string bytes = fs::read_file(data);
  bytes[bytes.size() / 2] ^= 0x55;
  fs::write_file(data, bytes);
  TempDir cache;
  Error e = pull_error(reg.host() + "/demo:v1", fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() == "pulling " + reg.host() + "/demo:v1: blob " + l.digest +
                           ": digest mismatch (expected " + l.digest + ", got " + oci::sha256_digest(bytes) +
                           ")");
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + hex));
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + hex + ".partial"));
}

TEST_CASE("oci pull: an unknown tag or repository is not_found 'manifest unknown'", "[oci][registry]") {
  Registry reg;
  Pushed p(reg);
  TempDir cache;
  auto o = fast_options(cache.path());
  Error e = pull_error(reg.host() + "/demo:nope", o);
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() == "pulling " + reg.host() + "/demo:nope: manifest unknown");
  CHECK(e.hint() == "check the repository name and the tag: " + reg.host() + " has no demo:nope");
  Error r = pull_error(reg.host() + "/nothing/here", o);
  CHECK(r.kind() == ErrorKind::not_found);
  CHECK(r.message() == "pulling " + reg.host() + "/nothing/here:latest: manifest unknown");
}

TEST_CASE("oci pull: connection refused is a network error naming host:port", "[oci][registry]") {
  int port;
  {
    TinyHttpServer s([](const HttpRequest&, HttpConn& c) { c.close(); });
    port = s.port();
  }  // closed: nothing listens there now
  TempDir cache;
  std::string host = "127.0.0.1:" + std::to_string(port);
  Error e = pull_error(host + "/a:b", fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::network);
  CHECK(e.message() == "pulling " + host + "/a:b: cannot connect to " + host + ": connection refused");
  CHECK(e.hint() == "check that a registry is running and reachable at " + host +
                        " and that the image reference names the right host and port");
}

TEST_CASE("oci pull: basic auth uses credentials from docker's config.json", "[oci][registry][auth]") {
  Registry reg({RegistryOptions::Auth::basic});
  Pushed p(reg);
  TempDir tmp;
  auto o = fast_options(tmp / "cache");
  SECTION("without credentials: auth error with a docker login hint") {
    Error e = pull_error(reg.host() + "/demo:v1", o);
    CHECK(e.kind() == ErrorKind::auth);
    CHECK(e.message() == "pulling " + reg.host() + "/demo:v1: manifest: 401 unauthorized");
    CHECK(e.hint() == "log in with `docker login " + reg.host() + "`, or add credentials for " + reg.host() +
                          " to /nonexistent/config.json");
  }
  SECTION("with credentials") {
    o.config.docker_config = reg.write_docker_config(tmp / "docker");
    check_demo(oci::pull(reg.host() + "/demo:v1", o), p.image);
  }
  SECTION("with wrong credentials: rejected") {
    o.config.docker_config = reg.write_docker_config(tmp / "docker", "banger", "wrong");
    Error e = pull_error(reg.host() + "/demo:v1", o);
    CHECK(e.kind() == ErrorKind::auth);
    CHECK(e.message() == "pulling " + reg.host() + "/demo:v1: manifest: 401 unauthorized");
    CHECK(e.hint() == "the credentials for " + reg.host() + " in " + o.config.docker_config +
                          " were rejected; run `docker login " + reg.host() + "` again");
  }
}

TEST_CASE("oci pull: bearer token auth fetches a token from the realm", "[oci][registry][auth]") {
  Registry reg({RegistryOptions::Auth::token});
  Pushed p(reg);
  TempDir tmp;
  auto o = fast_options(tmp / "cache");
  SECTION("with credentials") {
    o.config.docker_config = reg.write_docker_config(tmp / "docker");
    int before = reg.token_requests();
    check_demo(oci::pull(reg.host() + "/demo:v1", o), p.image);
    CHECK(reg.token_requests() > before);
  }
  SECTION("without credentials the token service refuses") {
    Error e = pull_error(reg.host() + "/demo:v1", o);
    CHECK(e.kind() == ErrorKind::auth);
    CHECK(e.message().find("pulling " + reg.host() + "/demo:v1: manifest: token from http://") == 0);
    CHECK(e.message().find("/token: 401 unauthorized") != std::string::npos);
    CHECK(e.hint().find("docker login " + reg.host()) != std::string::npos);
  }
}

TEST_CASE("oci pull: an index chooses the platform, strictly", "[oci][registry]") {
  Registry reg;
  TempDir tmp;
  OciLayoutWriter w(tmp / "layout");
  DemoImage amd = write_demo_image(w, "linux/amd64", 1);
  DemoImage arm = write_demo_image(w, "linux/arm64/v8", 2);
  oci::Descriptor unused;
  BlobRef idx = w.index({amd.manifest, arm.manifest});
  w.tag(idx, "multi");
  reg.push("oci:" + tmp.path() + "/layout:multi", "multi:1", {"--all"});
  auto o = fast_options(tmp / "cache");
  oci::PulledImage a = oci::pull(reg.host() + "/multi:1", o);
  CHECK(a.manifest_digest == amd.manifest.digest);
  CHECK(a.index_digest == idx.digest);
  CHECK(a.platform.to_string() == "linux/amd64");
  o.platform = oci::parse_platform("linux/arm64");
  oci::PulledImage b = oci::pull(reg.host() + "/multi:1", o);
  CHECK(b.manifest_digest == arm.manifest.digest);
  CHECK(b.platform.to_string() == "linux/arm64/v8");
  CHECK(b.layers[0].digest == arm.layers[0].digest);
  o.platform = oci::parse_platform("linux/s390x");
  Error e = pull_error(reg.host() + "/multi:1", o);
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() ==
        "pulling " + reg.host() +
            "/multi:1: no image for platform linux/s390x (available: linux/amd64, linux/arm64/v8)");
  CHECK(e.hint() == "choose one of the available platforms with --platform");
  // A single-platform image is strict too.
  Pushed single(reg, "single:1");
  Error s = pull_error(reg.host() + "/single:1", o);
  CHECK(s.kind() == ErrorKind::not_found);
  CHECK(s.message() ==
        "pulling " + reg.host() + "/single:1: no image for platform linux/s390x (available: linux/amd64)");
}

TEST_CASE("oci pull: mirrors are tried first, over TLS with a CA file", "[oci][registry]") {
  Registry mirror({RegistryOptions::Auth::none, true});
  Pushed p(mirror);
  // The origin has nothing listening: the mirror serves everything.
  int port;
  {
    TinyHttpServer s([](const HttpRequest&, HttpConn& c) { c.close(); });
    port = s.port();
  }
  std::string origin = "127.0.0.1:" + std::to_string(port);
  TempDir tmp;
  auto o = fast_options(tmp / "cache");
  o.config.mirrors[origin] = {"https://" + mirror.host()};
  o.config.ca_file = mirror.ca_file();
  oci::PulledImage img = oci::pull(origin + "/demo:v1", o);
  check_demo(img, p.image);
  CHECK(img.ref.registry == origin);
  SECTION("without the CA the mirror fails TLS and the origin is tried") {
    TempDir cache2;
    o.cache_dir = cache2.path();
    o.config.ca_file = "";
    Error e = pull_error(origin + "/demo:v1", o);
    CHECK(e.kind() == ErrorKind::network);
    CHECK(e.message() ==
          "pulling " + origin + "/demo:v1: cannot connect to " + origin + ": connection refused");
  }
}
