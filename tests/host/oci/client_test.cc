// Pieces of the registry client that need no server: credentials from
// docker's config.json, endpoint choice (loopback/insecure/mirrors), the
// blob cache's digest checks.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/oci/blob_cache.h"
#include "host/oci/digest.h"
#include "host/oci/docker_config.h"
#include "host/oci/registry.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::oci;
using banger::test::TempDir;

TEST_CASE("oci docker config: auths entries match hosts in any of docker's spellings", "[oci][client]") {
  TempDir tmp;
  std::string path = tmp / "config.json";
  fs::write_file(path, R"({
    "auths": {
      "https://index.docker.io/v1/": {"auth": ")" +
                           base64_encode("hub:pw1") + R"("},
      "127.0.0.1:5000": {"auth": ")" +
                           base64_encode("local:p:w") + R"("},
      "http://reg.example:5001/v2/": {"username": "u", "password": "p"},
      "other.example": {}
    },
    "credsStore": "desktop"
  })");
  auto hub = find_credentials(path, "registry-1.docker.io");
  REQUIRE(hub);
  CHECK(hub->username == "hub");
  CHECK(hub->password == "pw1");
  CHECK(hub->source == path);
  auto local = find_credentials(path, "127.0.0.1:5000");
  REQUIRE(local);
  CHECK(local->username == "local");
  CHECK(local->password == "p:w");
  auto plain = find_credentials(path, "reg.example:5001");
  REQUIRE(plain);
  CHECK(plain->username == "u");
  CHECK_FALSE(find_credentials(path, "other.example"));
  CHECK_FALSE(find_credentials(path, "127.0.0.1:5001"));
  CHECK_FALSE(find_credentials(tmp / "missing.json", "127.0.0.1:5000"));
  fs::write_file(path, "{not json");
  try {
    find_credentials(path, "x");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "reading " + path + ": not valid JSON");
  }
}

TEST_CASE("oci docker config: DOCKER_CONFIG, then ~/.docker", "[oci][client]") {
  CHECK(docker_config_path("/x/config.json") == "/x/config.json");
  setenv("DOCKER_CONFIG", "/etc/dockercfg", 1);
  CHECK(docker_config_path("") == "/etc/dockercfg/config.json");
  unsetenv("DOCKER_CONFIG");
  CHECK(docker_config_path("") == std::string(getenv("HOME")) + "/.docker/config.json");
}

TEST_CASE("oci client: loopback and insecure hosts use HTTP, others HTTPS, mirrors first", "[oci][client]") {
  TransferControl control;
  RegistryConfig config;
  config.insecure = {"myreg.example:5000"};
  config.mirrors["docker.io"] = {"mirror.example", "http://10.0.0.2:5000/ignored/path"};
  auto base = [&](const char* ref) {
    RegistryClient c(parse_ref(ref), config, {}, control);
    std::vector<std::string> out;
    for (const auto& e : c.endpoints()) out.push_back(e.base);
    return out;
  };
  CHECK(base("127.0.0.1:5000/a") == std::vector<std::string>{"http://127.0.0.1:5000"});
  CHECK(base("localhost/a") == std::vector<std::string>{"http://localhost"});
  CHECK(base("[::1]:5000/a") == std::vector<std::string>{"http://[::1]:5000"});
  CHECK(base("myreg.example:5000/a") == std::vector<std::string>{"http://myreg.example:5000"});
  CHECK(base("myreg.example:5001/a") == std::vector<std::string>{"https://myreg.example:5001"});
  CHECK(base("debian") == std::vector<std::string>{"https://mirror.example", "http://10.0.0.2:5000",
                                                   "https://registry-1.docker.io"});
}

TEST_CASE("oci blob cache: digests are validated before they become paths", "[oci][client]") {
  TempDir tmp;
  BlobCache cache(tmp.path());
  std::string good = sha256_digest("hello");
  CHECK(cache.path(good).string() == tmp.path() + "/blobs/sha256/" + good.substr(7));
  for (std::string bad : std::vector<std::string>{
           "sha256:../../../etc/passwd", "sha256:" + std::string(64, 'G'), "sha512:" + good.substr(7),
           good.substr(0, 70), good + "0", "SHA256:" + good.substr(7), std::string("")}) {
    try {
      cache.path(bad);
      FAIL("accepted " << bad);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_input);
      CHECK(e.message().rfind("blob: invalid digest \"", 0) == 0);
    }
  }
}

TEST_CASE("oci blob cache: put verifies, and a writer resumes from its partial file", "[oci][client]") {
  TempDir tmp;
  BlobCache cache(tmp.path());
  std::string data = "0123456789abcdef";
  std::string digest = sha256_digest(data);
  CHECK_THROWS_AS(cache.put("other", digest, "blob"), Error);
  CHECK_FALSE(cache.contains(digest));
  CHECK_FALSE(fs::exists(cache.partial_path(digest)));
  {
    BlobWriter w(cache, digest, static_cast<int64_t>(data.size()), "blob " + digest);
    CHECK(w.write(data.data(), 6));
  }  // interrupted: the partial stays
  CHECK(fs::read_file(cache.partial_path(digest)) == data.substr(0, 6));
  BlobWriter w(cache, digest, static_cast<int64_t>(data.size()), "blob " + digest);
  CHECK(w.offset() == 6);
  CHECK_FALSE(w.write(data.data() + 6, 11));  // past the size
  CHECK(w.write(data.data() + 6, 10));
  CHECK(w.commit() == cache.path(digest));
  CHECK(fs::read_file(cache.path(digest)) == data);
  CHECK_FALSE(fs::exists(cache.partial_path(digest)));
  BlobWriter again(cache, digest, static_cast<int64_t>(data.size()), "blob " + digest);
  CHECK(again.done());
}
