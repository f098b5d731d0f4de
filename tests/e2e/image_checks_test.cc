// End to end, the image checks of the threat model (tests/README.md) with
// the real build/banger: `image pull --size` is checked against the manifest
// before a single layer is downloaded (Debian's real docker-registry on
// loopback, the Debian test image), and a layer that is not what the config's
// diff_ids promise is refused.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/cli.h"
#include "tests/support/registry.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

using namespace banger;
using namespace banger::test;

namespace {

// Blob downloads in the registry's access log (one line per request).
size_t blob_gets(const Registry& reg) {
  std::string log = reg.log();
  size_t n = 0;
  for (size_t pos = 0; (pos = log.find("\"GET /v2/debian/blobs/", pos)) != std::string::npos; pos++) n++;
  return n;
}

}  // namespace

TEST_CASE("e2e image pull: a --size that cannot hold the image fails before any layer download",
          "[e2e][image][hostile]") {
  std::string layout = debian_oci_layout();
  Registry reg;
  reg.push("oci:" + layout + ":gzip", "debian:gzip");
  TempDir t;
  CliOptions o;
  o.env = {{"BANGER_HOME", t / "home"}, {"XDG_CONFIG_HOME", t / "config"}};
  o.cwd = t.path();
  std::string ref = reg.host() + "/debian:gzip";

  size_t before = blob_gets(reg);
  auto small = run_banger({"image", "pull", ref, "--size", "4M"}, o);
  CHECK(small.code == 2);
  CHECK(small.err.find("error: image size 4194304 bytes is too small: at least 8 MiB\n") !=
        std::string::npos);
  CHECK(blob_gets(reg) == before);  // not even the config

  before = blob_gets(reg);
  auto tight = run_banger({"image", "pull", ref, "--size", "16M"}, o);
  INFO(tight.err);
  CHECK(tight.code == 2);
  CHECK(tight.err.find("error: pulling " + ref + ": image size 16 MiB is smaller than layer sha256:") !=
        std::string::npos);
  CHECK(tight.err.find(
            "MiB compressed)\n  hint: give a larger size, or leave it out for the default (sized by the "
            "content)") != std::string::npos);
  CHECK(blob_gets(reg) == before + 1);  // the config only: no layer was downloaded
}

TEST_CASE("e2e image pull: a layer that is not the one the config's diff_ids promise is refused",
          "[e2e][image][hostile]") {
  // The attack: a registry (or a copied layout) serves a valid, digest-checked
  // layer blob that is not the content the image's config describes.
  TempDir t;
  OciLayoutWriter w(t / "layout");
  TarBuilder reviewed, swapped;
  reviewed.file("etc/motd", "the reviewed layer\n");
  swapped.file("etc/motd", "a swapped layer\n");
  std::string promised = reviewed.finish(TarBuilder::none);
  BlobRef layer = w.layer(promised, swapped.finish(TarBuilder::gzip), "gzip");
  w.tag(w.image({layer}), "v1");
  CliOptions o;
  o.env = {{"BANGER_HOME", t / "home"}, {"XDG_CONFIG_HOME", t / "config"}};
  o.cwd = t.path();
  auto r = run_banger({"image", "pull", "oci:" + t / "layout" + ":v1", "--name", "swapped"}, o);
  CHECK(r.code == 2);
  CHECK(r.err.find("its uncompressed content is sha256:") != std::string::npos);
  CHECK(r.err.find(", but the image config's diff_id says " + layer.diff_id + "\n") != std::string::npos);
  CHECK(run_banger({"image", "inspect", "swapped"}, o).code != 0);  // nothing was published
}
