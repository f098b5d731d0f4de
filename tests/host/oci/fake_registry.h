// A registry served by TinyHttpServer (a real socket peer on loopback) for
// the answers docker-registry cannot give on demand: faults, and the
// hostile registry of the threat model (foreign realms, redirect loops,
// huge Retry-After). Serves one demo image as repository "x", tag "y";
// `fault` answers a request itself when it returns true.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/oci/pull.h"
#include "tests/host/oci/oci_test_util.h"
#include "tests/support/registry.h"
#include "tests/support/temp_dir.h"

namespace banger::test {

// Serves one image as repository "x", tag "y", with a fault hook.
struct FakeRegistry {
  TempDir tmp;
  DemoImage image;
  std::string manifest;
  std::map<std::string, std::string> blobs;  // digest -> bytes
  std::mutex mu;
  std::vector<HttpRequest> seen;
  // Returns true if it answered the request itself.
  std::function<bool(const HttpRequest&, HttpConn&, int nth)> fault;
  std::map<std::string, int> counts;  // path -> requests so far
  std::unique_ptr<TinyHttpServer> server;

  FakeRegistry() {
    OciLayoutWriter w(tmp / "layout");
    image = write_demo_image(w);
    manifest = fs::read_file(tmp.path() + "/layout/blobs/sha256/" + image.manifest.digest.substr(7));
    for (const auto& e : std::filesystem::directory_iterator(tmp.path() + "/layout/blobs/sha256"))
      blobs["sha256:" + e.path().filename().string()] = fs::read_file(e.path());
    server = std::make_unique<TinyHttpServer>([this](const HttpRequest& r, HttpConn& c) { handle(r, c); });
  }
  ~FakeRegistry() { server.reset(); }

  std::string host() const { return server->host(); }
  std::string ref() const { return host() + "/x:y"; }
  const std::string& big() const { return image.layers[0].digest; }

  void handle(const HttpRequest& r, HttpConn& c) {
    int nth;
    {
      std::lock_guard lock(mu);
      seen.push_back(r);
      nth = ++counts[r.path];
    }
    if (fault && fault(r, c, nth)) return;
    if (r.path == "/v2/x/manifests/y" || r.path == "/v2/x/manifests/" + image.manifest.digest) {
      c.respond(200, manifest,
                {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                 {"Docker-Content-Digest", image.manifest.digest}});
      return;
    }
    const std::string prefix = "/v2/x/blobs/";
    if (r.path.rfind(prefix, 0) == 0 && blobs.count(r.path.substr(prefix.size()))) {
      serve_blob(r, c, blobs[r.path.substr(prefix.size())]);
      return;
    }
    c.respond(404, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})",
              {{"Content-Type", "application/json"}});
  }

  static void serve_blob(const HttpRequest& r, HttpConn& c, const std::string& data) {
    auto range = r.headers.find("range");
    if (range != r.headers.end()) {
      size_t from = std::stoul(range->second.substr(6));
      c.respond(206, data.substr(from),
                {{"Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(data.size() - 1) +
                                       "/" + std::to_string(data.size())}});
      return;
    }
    c.respond(200, data);
  }

  std::vector<HttpRequest> requests_for(const std::string& path) {
    std::lock_guard lock(mu);
    std::vector<HttpRequest> out;
    for (const auto& r : seen)
      if (r.path == path) out.push_back(r);
    return out;
  }
};

}  // namespace banger::test
