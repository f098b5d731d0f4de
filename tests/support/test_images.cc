#include "tests/support/test_images.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/registry.h"

namespace banger::test {

namespace {

std::string run_or_throw(const std::vector<std::string>& argv) {
  RunResult r = run_capture(argv);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (exit " + std::to_string(r.exit_code) + "): " + cmd + "\n" +
                             r.err);
  }
  return r.out;
}

// FIPS 180-4 SHA-256.
class Sha256 {
 public:
  void update(const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; i++) {
      buf_[len_++ % 64] = p[i];
      if (len_ % 64 == 0) block(buf_);
    }
  }
  std::string hex() {
    uint64_t bits = len_ * 8;
    unsigned char pad = 0x80;
    update(&pad, 1);
    unsigned char zero = 0;
    while (len_ % 64 != 56) update(&zero, 1);
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++) lenb[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(lenb, 8);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (uint32_t v : h_)
      for (int s = 28; s >= 0; s -= 4) out += kHex[(v >> s) & 15];
    return out;
  }

 private:
  static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void block(const unsigned char* p) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
      w[i] = uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 | uint32_t(p[4 * i + 2]) << 8 |
             p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h_[0] += a, h_[1] += b, h_[2] += c, h_[3] += d, h_[4] += e, h_[5] += f, h_[6] += g, h_[7] += h;
  }
  uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char buf_[64];
  uint64_t len_ = 0;
};

const char* layer_type(const std::string& compression) {
  if (compression == "gzip") return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (compression == "zstd") return "application/vnd.oci.image.layer.v1.tar+zstd";
  if (compression == "none") return "application/vnd.oci.image.layer.v1.tar";
  throw std::runtime_error("unknown compression " + compression);
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return h.hex();
}

std::string debian_rootfs_tar(const std::vector<std::string>& include, const std::string& suite) {
  require_tool("mmdebstrap", "mmdebstrap");
  std::string name = "rootfs-" + suite + "-minbase";
  std::string list;
  for (const auto& p : include) {
    name += "-" + p;
    list += (list.empty() ? "" : ",") + p;
  }
  std::string dir = test_cache_dir();
  std::string path = dir + "/" + name + ".tar";
  int lock = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) throw std::runtime_error("cannot create " + path + ".lock");
  ::flock(lock, LOCK_EX);  // another test process may be making it
  if (!fs::exists(path)) {
    std::string tmp = path + ".tmp";
    // --format: mmdebstrap would take the .tmp name for a directory.
    std::vector<std::string> argv = {"mmdebstrap", "--variant=minbase", "--quiet", "--mode=auto",
                                     "--format=tar"};
    if (!list.empty()) argv.push_back("--include=" + list);
    argv.push_back(suite);
    argv.push_back(tmp);
    // Debian's archive is reached over the network: a failed download is
    // tried again (twice) before the test fails.
    for (int attempt = 1;; attempt++) {
      try {
        run_or_throw(argv);
        break;
      } catch (...) {
        ::unlink(tmp.c_str());
        if (attempt < 3) continue;
        ::close(lock);
        throw;
      }
    }
    std::rename(tmp.c_str(), path.c_str());
  }
  ::close(lock);
  return path;
}

std::string debian_layout_with(const std::vector<std::string>& include) {
  std::string layout = test_cache_dir() + "/layout-debian";
  for (const auto& p : include) layout += "-" + p;
  if (!fs::exists(layout + "/index.json")) {
    // Made beside and renamed: a concurrent test process never sees half of it.
    std::string tmp = layout + ".tmp-" + std::to_string(getpid());
    umoci_image(tmp, "v1", {debian_rootfs_tar(include)});
    if (std::rename(tmp.c_str(), layout.c_str()) != 0) fs::remove_all(tmp);
  }
  return layout;
}

std::string debian_oci_layout() {
  std::string rootfs = debian_rootfs_tar();
  std::string dir = test_cache_dir() + "/oci-debian-bookworm-minbase";
  int lock = ::open((dir + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) throw std::runtime_error("cannot create " + dir + ".lock");
  ::flock(lock, LOCK_EX);
  if (!fs::exists(dir + "/index.json")) {
    std::string staging = dir + ".tmp";
    fs::remove_all(staging);
    try {
      fs::make_dirs(staging, 0755);
      std::string top = staging + "/top";
      fs::make_dirs(top + "/etc", 0755);
      fs::make_dirs(top + "/usr/share/doc", 0755);
      fs::write_file(top + "/etc/.wh.motd", "");
      fs::write_file(top + "/usr/share/doc/.wh..wh..opq", "");
      fs::write_file(top + "/usr/share/doc/README.banger", "docs were whited out\n");
      fs::write_file(top + "/etc/banger-release", "banger test image\n");
      run_or_throw(
          {"tar", "--owner=0", "--group=0", "--numeric-owner", "-C", top, "-cf", staging + "/top.tar", "."});
      umoci_image(staging + "/layout", "gzip", {rootfs, staging + "/top.tar"});
      // Recompressing within one layout would reuse the gzip blobs: go through another.
      skopeo_copy("oci:" + staging + "/layout:gzip", "oci:" + staging + "/zstd:zstd",
                  {"--dest-compress-format", "zstd"});
      skopeo_copy("oci:" + staging + "/zstd:zstd", "oci:" + staging + "/layout:zstd");
      std::rename((staging + "/layout").c_str(), dir.c_str());
    } catch (...) {
      fs::remove_all(staging);
      ::close(lock);
      throw;
    }
    fs::remove_all(staging);
  }
  ::close(lock);
  return dir;
}

void umoci_image(const std::string& layout, const std::string& tag,
                 const std::vector<std::string>& layer_tars) {
  require_tool("umoci", "umoci");
  run_or_throw({"umoci", "init", "--layout", layout});
  run_or_throw({"umoci", "new", "--image", layout + ":" + tag});
  for (const auto& t : layer_tars)
    run_or_throw({"umoci", "raw", "add-layer", "--image", layout + ":" + tag, t});
}

void skopeo_copy(const std::string& src, const std::string& dest, const std::vector<std::string>& extra) {
  require_tool("skopeo", "skopeo");
  std::vector<std::string> argv = {"skopeo",  "--insecure-policy",      "copy",
                                   "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false"};
  for (const auto& e : extra) argv.push_back(e);
  argv.push_back(src);
  argv.push_back(dest);
  run_or_throw(argv);
}

OciLayoutWriter::OciLayoutWriter(std::string dir) : dir_(std::move(dir)) {
  fs::make_dirs(dir_ + "/blobs/sha256", 0755);
  fs::write_file(dir_ + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  write_index();
}

BlobRef OciLayoutWriter::blob(std::string_view data, const std::string& media_type) {
  BlobRef b;
  b.media_type = media_type;
  std::string hex = sha256_hex(data);
  b.digest = "sha256:" + hex;
  b.size = static_cast<int64_t>(data.size());
  fs::write_file(dir_ + "/blobs/sha256/" + hex, data);
  return b;
}

BlobRef OciLayoutWriter::layer(std::string_view tar, std::string_view stored,
                               const std::string& compression) {
  BlobRef b = blob(stored, layer_type(compression));
  b.diff_id = "sha256:" + sha256_hex(tar);
  return b;
}

BlobRef OciLayoutWriter::image(const std::vector<BlobRef>& layers, const std::string& platform) {
  std::string os = platform.substr(0, platform.find('/'));
  std::string rest = platform.substr(platform.find('/') + 1);
  std::string arch = rest.substr(0, rest.find('/'));
  std::string variant = rest.find('/') == std::string::npos ? "" : rest.substr(rest.find('/') + 1);
  nlohmann::json config = {{"architecture", arch},
                           {"os", os},
                           {"config", {{"Env", {"PATH=/usr/bin:/bin"}}, {"Cmd", {"/bin/sh"}}}},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
  if (!variant.empty()) config["variant"] = variant;
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"layers", nlohmann::json::array()}};
  for (const auto& l : layers) {
    config["rootfs"]["diff_ids"].push_back(l.diff_id);
    manifest["layers"].push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
  }
  BlobRef c = blob(config.dump(), "application/vnd.oci.image.config.v1+json");
  manifest["config"] = {{"mediaType", c.media_type}, {"digest", c.digest}, {"size", c.size}};
  BlobRef m = blob(manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
  m.platform = platform;
  return m;
}

BlobRef OciLayoutWriter::index(const std::vector<BlobRef>& manifests) {
  nlohmann::json idx = {{"schemaVersion", 2},
                        {"mediaType", "application/vnd.oci.image.index.v1+json"},
                        {"manifests", nlohmann::json::array()}};
  for (const auto& m : manifests) {
    std::string p = m.platform;
    std::string os = p.substr(0, p.find('/'));
    std::string rest = p.substr(p.find('/') + 1);
    nlohmann::json plat = {{"os", os}, {"architecture", rest.substr(0, rest.find('/'))}};
    if (rest.find('/') != std::string::npos) plat["variant"] = rest.substr(rest.find('/') + 1);
    idx["manifests"].push_back(
        {{"mediaType", m.media_type}, {"digest", m.digest}, {"size", m.size}, {"platform", plat}});
  }
  return blob(idx.dump(), "application/vnd.oci.image.index.v1+json");
}

void OciLayoutWriter::tag(const BlobRef& b, const std::string& tag) {
  tags_.emplace_back(b, tag);
  write_index();
}

void OciLayoutWriter::write_index() {
  nlohmann::json idx = {{"schemaVersion", 2}, {"manifests", nlohmann::json::array()}};
  for (const auto& [b, t] : tags_)
    idx["manifests"].push_back({{"mediaType", b.media_type},
                                {"digest", b.digest},
                                {"size", b.size},
                                {"annotations", {{"org.opencontainers.image.ref.name", t}}}});
  fs::write_file(dir_ + "/index.json", idx.dump());
}

}  // namespace banger::test
