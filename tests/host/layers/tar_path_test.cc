#include <catch2/catch.hpp>

#include <filesystem>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/layers/layer_reader.h"
#include "host/layers/tar_path.h"
#include "tests/support/tar_builder.h"

using namespace banger;
using banger::test::TarBuilder;

namespace {
std::string error_of(std::string_view name) {
  try {
    layers::clean_tar_path(name);
  } catch (const Error& e) {
    return e.message();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("tar paths: names are cleaned to image-relative paths", "[layers]") {
  REQUIRE(layers::clean_tar_path(".") == "");
  REQUIRE(layers::clean_tar_path("./") == "");
  REQUIRE(layers::clean_tar_path("./usr//bin/./ls") == "usr/bin/ls");
  REQUIRE(layers::clean_tar_path("usr/lib/") == "usr/lib");
  REQUIRE(layers::clean_tar_path("a/b/../c") == "a/c");
  REQUIRE(layers::clean_tar_path("a/..") == "");
}

TEST_CASE("tar paths: climbing out, absolute and empty names are refused", "[layers]") {
  REQUIRE(error_of("../x") == "\"../x\": path leaves the image root");
  REQUIRE(error_of("a/../../x") == "\"a/../../x\": path leaves the image root");
  REQUIRE(error_of("./..") == "\"./..\": path leaves the image root");
  REQUIRE(error_of("/etc/passwd") == "\"/etc/passwd\": absolute path");
  REQUIRE(error_of("") == "an entry has an empty name");
}

TEST_CASE("layer sizes: read cheaply from gzip, zstd and plain tars", "[layers]") {
  std::string dir = fs::make_temp_dir(std::filesystem::temp_directory_path().string(), "sizes-");
  TarBuilder t;
  t.file("a", std::string(300000, 'a'));
  std::string plain = t.finish(TarBuilder::none);
  fs::write_file(dir + "/p", plain);
  fs::write_file(dir + "/g", t.finish(TarBuilder::gzip));
  fs::write_file(dir + "/z", t.finish(TarBuilder::zstd));
  REQUIRE(layers::sniff_compression(dir + "/g") == layers::Compression::gzip);
  REQUIRE(layers::sniff_compression(dir + "/z") == layers::Compression::zstd);
  REQUIRE(layers::sniff_compression(dir + "/p") == layers::Compression::none);
  REQUIRE(layers::uncompressed_size({dir + "/p"}) == plain.size());
  REQUIRE(layers::uncompressed_size({dir + "/g"}) == plain.size());
  uint64_t z = layers::uncompressed_size({dir + "/z"});
  // The frame's size, or (the writer left it out) the bound its blocks give.
  REQUIRE(z >= plain.size());
  REQUIRE(z < 2 * plain.size());
  REQUIRE(layers::uncompressed_size({"", 0}) == 0);  // a stream: unknown
  fs::remove_all(dir);
}
