#include <catch2/catch.hpp>

#include "host/core/error.h"
#include "host/oci/platform.h"
#include "host/oci/ref.h"

#include <vector>

using namespace banger;
using namespace banger::oci;

namespace {

std::string canon(const char* text) { return parse_ref(text).to_string(); }

std::string parse_error(const char* text) {
  try {
    parse_ref(text);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK_FALSE(e.hint().empty());
    return e.message();
  }
  FAIL("no error for " << text);
  return {};
}

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("oci ref: docker defaults fill registry, library/ and latest", "[oci][ref]") {
  CHECK(canon("debian") == "registry-1.docker.io/library/debian:latest");
  CHECK(canon("debian:bookworm") == "registry-1.docker.io/library/debian:bookworm");
  CHECK(canon("docker.io/debian") == "registry-1.docker.io/library/debian:latest");
  CHECK(canon("index.docker.io/library/debian:12") == "registry-1.docker.io/library/debian:12");
  CHECK(canon("user/app") == "registry-1.docker.io/user/app:latest");
  CHECK(canon("docker://alpine:3") == "registry-1.docker.io/library/alpine:3");
  Ref r = parse_ref("debian:bookworm");
  CHECK(r.transport == Transport::registry);
  CHECK(r.registry == "registry-1.docker.io");
  CHECK(r.repository == "library/debian");
  CHECK(r.tag == "bookworm");
  CHECK(r.digest.empty());
  CHECK(r.reference() == "bookworm");
}

TEST_CASE("oci ref: registry hosts, ports, localhost and IPv6", "[oci][ref]") {
  Ref r = parse_ref("host:5000/a/b:tag");
  CHECK(r.registry == "host:5000");
  CHECK(r.repository == "a/b");
  CHECK(r.tag == "tag");
  CHECK(canon("localhost/x") == "localhost/x:latest");
  CHECK(canon("localhost:5000/x") == "localhost:5000/x:latest");
  CHECK(canon("127.0.0.1:5000/a/b/c") == "127.0.0.1:5000/a/b/c:latest");
  CHECK(canon("quay.io/org/img:v1.2-rc_3") == "quay.io/org/img:v1.2-rc_3");
  CHECK(canon("[::1]:5000/img:t") == "[::1]:5000/img:t");
  CHECK(canon("My.Registry.example/img") == "My.Registry.example/img:latest");
  // "localhost" alone is a Docker Hub image, as in docker.
  CHECK(canon("localhost") == "registry-1.docker.io/library/localhost:latest");
  CHECK(canon("a__b/c-d.e---f") == "registry-1.docker.io/a__b/c-d.e---f:latest");
}

TEST_CASE("oci ref: digests pin the image, with or without a tag", "[oci][ref]") {
  Ref r = parse_ref("host:5000/a/b@sha256:" + kHex);
  CHECK(r.digest == "sha256:" + kHex);
  CHECK(r.tag.empty());
  CHECK(r.reference() == "sha256:" + kHex);
  CHECK(r.to_string() == "host:5000/a/b@sha256:" + kHex);
  Ref t = parse_ref("debian:12@sha256:" + kHex);
  CHECK(t.tag == "12");
  CHECK(t.reference() == "sha256:" + kHex);
  CHECK(t.to_string() == "registry-1.docker.io/library/debian:12@sha256:" + kHex);
}

TEST_CASE("oci ref: local transports", "[oci][ref]") {
  Ref o = parse_ref("oci:/tmp/img");
  CHECK(o.transport == Transport::oci_layout);
  CHECK(o.path == "/tmp/img");
  CHECK(o.tag.empty());
  CHECK(o.to_string() == "oci:/tmp/img");
  Ref ot = parse_ref("oci:./img:v1");
  CHECK(ot.path == "./img");
  CHECK(ot.tag == "v1");
  CHECK(ot.to_string() == "oci:./img:v1");
  Ref a = parse_ref("oci-archive:/tmp/img.tar:latest");
  CHECK(a.transport == Transport::oci_archive);
  CHECK(a.path == "/tmp/img.tar");
  CHECK(a.tag == "latest");
  Ref d = parse_ref("docker-archive:/tmp/save.tar");
  CHECK(d.transport == Transport::docker_archive);
  CHECK(d.path == "/tmp/save.tar");
  CHECK(d.to_string() == "docker-archive:/tmp/save.tar");
}

TEST_CASE("oci ref: canonical form parses back to the same ref", "[oci][ref]") {
  for (std::string text :
       std::vector<std::string>{"debian", "a/b:c", "h:1/x@sha256:" + kHex, "oci:/x:y", "oci-archive:f.tar",
                                "docker-archive:s.tar", "[::1]:5000/i:t", "localhost/x:1"}) {
    Ref r = parse_ref(text);
    CHECK(parse_ref(r.to_string()) == r);
  }
}

TEST_CASE("oci ref: malformed refs name the ref and the problem", "[oci][ref]") {
  CHECK(parse_error("") == "invalid image reference \"\": empty reference");
  CHECK(parse_error("Debian") == "invalid image reference \"Debian\": repository name must be lowercase");
  CHECK(parse_error("host:5000/A/b") ==
        "invalid image reference \"host:5000/A/b\": repository name must be lowercase");
  CHECK(parse_error("debian:") ==
        "invalid image reference \"debian:\": invalid tag \"\" (a tag is up to 128 letters, digits, '_', '.' "
        "and "
        "'-', not starting with '.' or '-')");
  CHECK(parse_error("debian:.x").find("invalid tag \".x\"") != std::string::npos);
  CHECK(parse_error(("debian:" + std::string(129, 'a')).c_str()).find("invalid tag") != std::string::npos);
  CHECK(parse_error("debian@sha256:abc") ==
        "invalid image reference \"debian@sha256:abc\": invalid digest (a digest is sha256: followed by 64 "
        "lowercase hex digits)");
  CHECK(parse_error(("debian@sha256:" + std::string(64, 'A')).c_str()).find("invalid digest") !=
        std::string::npos);
  CHECK(parse_error(("debian@sha512:" + kHex).c_str()) ==
        "invalid image reference \"debian@sha512:" + kHex +
            "\": unsupported digest algorithm \"sha512\" (only sha256 is supported)");
  CHECK(parse_error("a//b") ==
        "invalid image reference \"a//b\": empty path component in the repository name");
  CHECK(parse_error("a/b/") ==
        "invalid image reference \"a/b/\": empty path component in the repository name");
  CHECK(parse_error("-a") ==
        "invalid image reference \"-a\": invalid repository name component \"-a\" (lowercase letters and "
        "digits, "
        "separated by '.', '_', '__' or '-')");
  CHECK(parse_error("a___b").find("invalid repository name component \"a___b\"") != std::string::npos);
  CHECK(parse_error("a..b").find("invalid repository name component") != std::string::npos);
  CHECK(parse_error("host:99999999/a") ==
        "invalid image reference \"host:99999999/a\": invalid registry host \"host:99999999\"");
  CHECK(parse_error("-bad.host/a") ==
        "invalid image reference \"-bad.host/a\": invalid registry host \"-bad.host\"");
  CHECK(parse_error("host:5000/") == "invalid image reference \"host:5000/\": missing repository name");
  CHECK(parse_error("deb ian") ==
        "invalid image reference \"deb ian\": contains whitespace or a control character");
  CHECK(parse_error("oci:") == "invalid image reference \"oci:\": missing directory path");
  CHECK(parse_error("oci-archive::tag") == "invalid image reference \"oci-archive::tag\": missing file path");
  CHECK(parse_error("oci:/x:bad tag").find("whitespace") != std::string::npos);
  CHECK(parse_error("oci:/x:-t").find("invalid tag \"-t\"") != std::string::npos);
  CHECK(parse_error(("a/" + std::string(260, 'b')).c_str()).find("longer than 255") != std::string::npos);
  // The limit counts the "library/" a Docker Hub name gets (found by fuzzing:
  // such a name parsed, and its canonical form did not).
  const std::string name(230, 'n');  // registry-1.docker.io/library/ + 230 = 259
  CHECK(parse_error(name.c_str()) ==
        "invalid image reference \"" + name + "\": repository name is longer than 255 characters");
  CHECK(parse_ref(std::string(200, 'n')).to_string() ==
        "registry-1.docker.io/library/" + std::string(200, 'n') + ":latest");
}

TEST_CASE("oci ref: loopback hosts are recognised", "[oci][ref]") {
  CHECK(is_loopback_host("127.0.0.1:5000"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("localhost:5000"));
  CHECK(is_loopback_host("[::1]:5000"));
  CHECK_FALSE(is_loopback_host("127.example.com"));
  CHECK_FALSE(is_loopback_host("10.0.0.1:5000"));
  CHECK_FALSE(is_loopback_host("registry-1.docker.io"));
}

TEST_CASE("oci platform: parsing and aliases", "[oci][ref]") {
  CHECK(parse_platform("linux/amd64").to_string() == "linux/amd64");
  CHECK(parse_platform("linux/x86_64").to_string() == "linux/amd64");
  CHECK(parse_platform("linux/aarch64").to_string() == "linux/arm64/v8");
  CHECK(parse_platform("linux/arm/v7").to_string() == "linux/arm/v7");
  CHECK(platform_matches(parse_platform("linux/arm64"), Platform{"linux", "arm64", ""}));
  CHECK_FALSE(platform_matches(parse_platform("linux/arm/v6"), Platform{"linux", "arm", "v7"}));
  try {
    parse_platform("linux");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.message() == "invalid platform \"linux\"");
  }
  CHECK_THROWS_AS(parse_platform("linux/amd64/v2/x"), Error);
  CHECK_THROWS_AS(parse_platform("linux//v2"), Error);
}
