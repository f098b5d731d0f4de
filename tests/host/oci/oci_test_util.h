// Shared by the oci tests: a small synthetic multi-layer image (gzip, zstd
// and plain layers, one with a whiteout) and fast pull options.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/oci/pull.h"
#include "tests/support/tar_builder.h"
#include "tests/support/test_images.h"

namespace banger::test {

// Incompressible bytes, so layer sizes stay what the test asks for.
inline std::string noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

struct DemoImage {
  BlobRef manifest;
  std::vector<BlobRef> layers;
  std::vector<std::string> stored;  // the layer blobs' bytes
};

// Three layers: gzip (with a 1 MiB file), zstd (with a whiteout), plain.
inline DemoImage write_demo_image(OciLayoutWriter& w, const std::string& platform = "linux/amd64",
                                  uint32_t seed = 1) {
  DemoImage d;
  TarBuilder l1;
  l1.dir("etc").file("etc/hostname", "demo\n").dir("data").file("data/big.bin", noise(1 << 20, seed));
  std::string t1 = l1.finish(TarBuilder::none);
  TarBuilder l1z;
  l1z.dir("etc").file("etc/hostname", "demo\n").dir("data").file("data/big.bin", noise(1 << 20, seed));
  d.stored.push_back(l1z.finish(TarBuilder::gzip));
  d.layers.push_back(w.layer(t1, d.stored.back(), "gzip"));

  TarBuilder l2, l2z;
  for (TarBuilder* t : {&l2, &l2z}) t->file("etc/motd", "hello " + platform + "\n").whiteout("etc/hostname");
  std::string t2 = l2.finish(TarBuilder::none);
  d.stored.push_back(l2z.finish(TarBuilder::zstd));
  d.layers.push_back(w.layer(t2, d.stored.back(), "zstd"));

  TarBuilder l3;
  l3.dir("srv").file("srv/note", "plain layer\n");
  d.stored.push_back(l3.finish(TarBuilder::none));
  d.layers.push_back(w.layer(d.stored.back(), d.stored.back(), "none"));
  d.manifest = w.image(d.layers, platform);
  return d;
}

inline oci::PullOptions fast_options(const std::string& cache_dir) {
  oci::PullOptions o;
  o.cache_dir = cache_dir;
  o.retry.attempts = 3;
  o.retry.initial_backoff = std::chrono::milliseconds(10);
  o.retry.max_backoff = std::chrono::milliseconds(100);
  o.config.docker_config = "/nonexistent/config.json";  // never the developer's own credentials
  return o;
}

// The pull's error, failing the test if the pull succeeded.
inline Error pull_error(const std::string& ref, const oci::PullOptions& o) {
  try {
    oci::pull(ref, o);
  } catch (const Error& e) {
    return e;
  }
  FAIL("pull of " << ref << " did not fail");
  return Error(ErrorKind::internal, "");
}

}  // namespace banger::test
