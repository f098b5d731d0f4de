// A real Debian image (mmdebstrap + umoci + skopeo, see
// tests/support/test_images.h) pushed to docker-registry and pulled back,
// gzip and zstd. The first run builds the image (about a minute), later runs
// reuse it from the test cache.
#include <catch2/catch.hpp>

#include <chrono>

#include "host/core/fs.h"
#include "host/oci/digest.h"
#include "host/oci/pull.h"
#include "tests/host/oci/oci_test_util.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

TEST_CASE("oci pull: a real two-layer Debian image, gzip and zstd, from docker-registry", "[oci][debian]") {
  std::string layout = debian_oci_layout();
  Registry reg;
  reg.push("oci:" + layout + ":gzip", "debian:gzip");
  reg.push("oci:" + layout + ":zstd", "debian:zstd");
  TempDir cache;
  auto o = fast_options(cache.path());
  for (std::string tag : {"gzip", "zstd"}) {
    auto start = std::chrono::steady_clock::now();
    oci::PulledImage img = oci::pull(reg.host() + "/debian:" + tag, o);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(img.layers.size() == 2);
    auto want = tag == "gzip" ? oci::Compression::gzip : oci::Compression::zstd;
    int64_t bytes = 0;
    for (const auto& l : img.layers) {
      CHECK(l.compression == want);
      // The cached blob is byte-identical to the layout's.
      CHECK(std::filesystem::file_size(l.path) == static_cast<uintmax_t>(l.size));
      CHECK(oci::sha256_file(layout + "/blobs/sha256/" + l.digest.substr(7)) == l.digest);
      bytes += l.size;
    }
    CHECK(img.layers[0].size > 20 << 20);
    CHECK(img.platform.to_string() == "linux/amd64");
    CHECK(img.config["rootfs"]["diff_ids"].size() == 2);
    WARN("pulled debian:" << tag << ": " << bytes / 1e6 << " MB in " << secs << " s");
  }
}
