// oci::pull from oci:DIR, oci-archive:FILE and docker-archive:FILE.
#include <catch2/catch.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/oci/digest.h"
#include "host/oci/pull.h"
#include "tests/host/oci/oci_test_util.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

struct Layout {
  TempDir tmp;
  std::string dir = tmp / "layout";
  OciLayoutWriter w{dir};
  DemoImage image = write_demo_image(w);
  Layout() { w.tag(image.manifest, "v1"); }
};

}  // namespace

TEST_CASE("oci pull local: oci:DIR[:tag] copies verified blobs into the cache", "[oci][local]") {
  Layout l;
  TempDir cache;
  auto o = fast_options(cache.path());
  for (std::string ref : {"oci:" + l.dir + ":v1", "oci:" + l.dir}) {
    oci::PulledImage img = oci::pull(ref, o);
    CHECK(img.manifest_digest == l.image.manifest.digest);
    REQUIRE(img.layers.size() == 3);
    CHECK(img.layers[1].compression == oci::Compression::zstd);
    for (size_t i = 0; i < 3; i++) {
      CHECK(img.layers[i].path.string() ==
            cache.path() + "/blobs/sha256/" + l.image.layers[i].digest.substr(7));
      CHECK(fs::read_file(img.layers[i].path) == l.image.stored[i]);
    }
    CHECK(img.platform.to_string() == "linux/amd64");
    CHECK(img.ref.to_string() == ref);
  }
}

TEST_CASE("oci pull local: an unknown tag lists the tags", "[oci][local]") {
  Layout l;
  TempDir cache;
  Error e = pull_error("oci:" + l.dir + ":v2", fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() ==
        "pulling oci:" + l.dir + ":v2: oci layout " + l.dir + ": no image tagged \"v2\" (tags: v1)");
  Error m = pull_error("oci:" + l.tmp.path() + "/missing", fast_options(cache.path()));
  CHECK(m.kind() == ErrorKind::not_found);
  CHECK(m.message() == "pulling oci:" + l.tmp.path() + "/missing: oci layout " + l.tmp.path() +
                           "/missing: no such directory");
}

TEST_CASE("oci pull local: a corrupt layer in a layout is a digest mismatch and not cached", "[oci][local]") {
  Layout l;
  const auto& layer = l.image.layers[1];
  std::string path = l.dir + "/blobs/sha256/" + layer.digest.substr(7);
  std::string bytes = fs::read_file(path);
  bytes[3] ^= 1;
  fs::write_file(path, bytes);
  TempDir cache;
  Error e = pull_error("oci:" + l.dir + ":v1", fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() == "pulling oci:" + l.dir + ":v1: oci layout " + l.dir + ": blob " + layer.digest +
                           ": digest mismatch (expected " + layer.digest + ", got " +
                           oci::sha256_digest(bytes) + ")");
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + layer.digest.substr(7)));
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + layer.digest.substr(7) + ".partial"));
}

TEST_CASE("oci pull local: a multi-platform layout chooses the platform", "[oci][local]") {
  TempDir tmp;
  OciLayoutWriter w(tmp / "layout");
  DemoImage amd = write_demo_image(w, "linux/amd64", 1);
  DemoImage arm = write_demo_image(w, "linux/arm/v7", 3);
  w.tag(w.index({amd.manifest, arm.manifest}), "multi");
  auto o = fast_options(tmp / "cache");
  o.platform = oci::parse_platform("linux/arm/v7");
  oci::PulledImage img = oci::pull("oci:" + tmp.path() + "/layout:multi", o);
  CHECK(img.manifest_digest == arm.manifest.digest);
  CHECK(img.platform.to_string() == "linux/arm/v7");
  o.platform = oci::parse_platform("linux/riscv64");
  Error e = pull_error("oci:" + tmp.path() + "/layout:multi", o);
  CHECK(e.kind() == ErrorKind::not_found);
  CHECK(e.message() ==
        "pulling oci:" + tmp.path() +
            "/layout:multi: no image for platform linux/riscv64 (available: linux/amd64, linux/arm/v7)");
}

TEST_CASE("oci pull local: oci-archive:FILE reads a tar of a layout", "[oci][local]") {
  Layout l;
  std::string tar = l.tmp / "img.tar";
  run_checked({"tar", "-C", l.dir, "-cf", tar, "."}, "tar");
  TempDir cache;
  oci::PulledImage img = oci::pull("oci-archive:" + tar + ":v1", fast_options(cache.path()));
  CHECK(img.manifest_digest == l.image.manifest.digest);
  REQUIRE(img.layers.size() == 3);
  for (size_t i = 0; i < 3; i++) CHECK(fs::read_file(img.layers[i].path) == l.image.stored[i]);
  Error e = pull_error("oci-archive:" + l.tmp.path() + "/none.tar", fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::not_found);
}

TEST_CASE("oci pull local: docker-archive:FILE (a skopeo/docker save tarball)", "[oci][local]") {
  // Docker images cannot carry zstd layers: gzip and plain ones.
  TempDir tmp;
  OciLayoutWriter w(tmp / "layout");
  std::vector<BlobRef> layers;
  TarBuilder a, az, b;
  a.dir("etc").file("etc/a", noise(70000, 5));
  az.dir("etc").file("etc/a", noise(70000, 5));
  std::string at = a.finish();
  layers.push_back(w.layer(at, az.finish(TarBuilder::gzip), "gzip"));
  b.file("etc/b", "bee\n").whiteout("etc/a");
  std::string bt = b.finish();
  layers.push_back(w.layer(bt, bt, "none"));
  w.tag(w.image(layers), "v1");
  std::string tar = tmp / "save.tar";
  skopeo_copy("oci:" + tmp.path() + "/layout:v1", "docker-archive:" + tar + ":demo:v1");
  TempDir cache;
  oci::PulledImage img = oci::pull("docker-archive:" + tar, fast_options(cache.path()));
  REQUIRE(img.layers.size() == 2);
  for (size_t i = 0; i < 2; i++) {
    // docker archives hold uncompressed layers: the digest is the diff id.
    CHECK(img.layers[i].digest == layers[i].diff_id);
    CHECK(img.layers[i].compression == oci::Compression::none);
    CHECK(oci::sha256_file(img.layers[i].path) == img.layers[i].digest);
  }
  CHECK(fs::read_file(img.layers[0].path) == at);
  CHECK(img.config["rootfs"]["diff_ids"].size() == 2);
  CHECK(img.platform.to_string() == "linux/amd64");
  CHECK(fs::exists(cache.path() + "/blobs/sha256/" + img.manifest_digest.substr(7)));
  // Nothing but verified blobs in the cache.
  for (const auto& e : std::filesystem::directory_iterator(cache.path() + "/blobs/sha256"))
    CHECK(oci::sha256_file(e.path()) == "sha256:" + e.path().filename().string());
}

TEST_CASE("oci pull local: a corrupt blob in an oci-archive is a digest mismatch", "[oci][local]") {
  Layout l;
  const auto& layer = l.image.layers[0];
  std::string path = l.dir + "/blobs/sha256/" + layer.digest.substr(7);
  std::string bytes = fs::read_file(path);
  bytes[bytes.size() / 3] ^= 1;
  fs::write_file(path, bytes);
  std::string tar = l.tmp / "img.tar";
  run_checked({"tar", "-C", l.dir, "-cf", tar, "."}, "tar");
  TempDir cache;
  Error e = pull_error("oci-archive:" + tar, fast_options(cache.path()));
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(e.message() == "pulling oci-archive:" + tar + ": oci archive " + tar + ": blob " + layer.digest +
                           ": digest mismatch (expected " + layer.digest + ", got " +
                           oci::sha256_digest(bytes) + ")");
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + layer.digest.substr(7)));
  CHECK_FALSE(fs::exists(cache.path() + "/blobs/sha256/" + layer.digest.substr(7) + ".partial"));
}
