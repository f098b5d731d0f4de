// Real OCI images for tests.
//
// - debian_rootfs_tar(): a Debian rootfs tarball made by mmdebstrap from the
//   apt archive, cached under $BANGER_TEST_CACHE (default BUILD/test-cache) so
//   only the first run pays (about a minute).
// - umoci_image(): an OCI layout made by umoci from layer tarballs (umoci
//   gzips each layer), e.g. the Debian rootfs plus a layer with whiteouts.
// - OciLayoutWriter: small synthetic images written directly (layer tars from
//   tests/support/tar_builder.h, compressed as the test chooses: none, gzip,
//   zstd), single images and multi-platform indexes.
// - skopeo_copy(): skopeo between transports (oci:, docker://, oci-archive:).
//
// Missing tools are a hard failure (tests never skip).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banger::test {

// $BANGER_TEST_CACHE, else BANGER_BINARY_DIR/test-cache (created). Defined
// in kernel_fixture.cc, which had it first.
std::string test_cache_dir();

// A cached mmdebstrap --variant=minbase tarball of `suite` with `include`d
// packages. Safe against concurrent callers (a lock file).
std::string debian_rootfs_tar(const std::vector<std::string>& include = {},
                              const std::string& suite = "bookworm");

// A cached OCI layout (under test_cache_dir()) of a real two-layer Debian
// image: the minbase rootfs, then a layer that whites out /etc/motd, makes
// /usr/share/doc opaque (holding only README.banger) and adds
// /etc/banger-release. Tag "gzip": both layers gzip (umoci); tag "zstd": the
// same image recompressed with zstd by skopeo.
std::string debian_oci_layout();

// A cached one-layer OCI layout, tag "v1", of Debian minbase with the
// `include`d packages (test_cache_dir()/layout-debian-PKG-PKG...).
std::string debian_layout_with(const std::vector<std::string>& include);

// umoci init + new + one `raw add-layer` per tarball: an OCI layout at
// `layout` with image `tag`.
void umoci_image(const std::string& layout, const std::string& tag,
                 const std::vector<std::string>& layer_tars);

// skopeo --insecure-policy copy [extra...] SRC DEST (TLS verification off).
void skopeo_copy(const std::string& src, const std::string& dest, const std::vector<std::string>& extra = {});

// Lowercase hex SHA-256 (a separate implementation from host/oci's).
std::string sha256_hex(std::string_view data);

struct BlobRef {
  std::string media_type;
  std::string digest;  // "sha256:..."
  int64_t size = 0;
  std::string diff_id;   // layers: digest of the uncompressed tar
  std::string platform;  // manifests in an index: "linux/arm64/v8"
};

class OciLayoutWriter {
 public:
  // Creates DIR/oci-layout, DIR/blobs/sha256 and an empty DIR/index.json.
  explicit OciLayoutWriter(std::string dir);
  const std::string& dir() const { return dir_; }

  BlobRef blob(std::string_view data, const std::string& media_type);
  // `stored` is `tar` compressed with `compression` ("none", "gzip" or "zstd").
  BlobRef layer(std::string_view tar, std::string_view stored, const std::string& compression);
  // A config (from the layers' diff ids) and an OCI manifest.
  BlobRef image(const std::vector<BlobRef>& layers, const std::string& platform = "linux/amd64");
  // An OCI index over manifests (each with its platform).
  BlobRef index(const std::vector<BlobRef>& manifests);
  // Adds `b` to index.json under `tag` (org.opencontainers.image.ref.name).
  void tag(const BlobRef& b, const std::string& tag);

 private:
  void write_index();
  std::string dir_;
  std::vector<std::pair<BlobRef, std::string>> tags_;
};

}  // namespace banger::test
