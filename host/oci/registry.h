// A registry API v2 client for one repository: endpoints (mirrors, then the
// registry itself; plain HTTP for loopback and insecure hosts), anonymous /
// bearer token / basic auth, retries with capped exponential backoff on
// 408/429/5xx honouring Retry-After, verified manifests and resumable,
// verified blob downloads into the cache. Thread-safe: one HttpSession per
// thread, auth state shared.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/core/http.h"
#include "host/oci/blob_cache.h"
#include "host/oci/manifest.h"
#include "host/oci/ref.h"

namespace banger::oci {

// What banger's config says about registries (the caller fills it).
struct RegistryConfig {
  // Registry hosts ("host:port") spoken to over plain HTTP.
  std::vector<std::string> insecure;
  // Registry host -> mirror endpoints tried before it, in order:
  // "host:port" or "http(s)://host:port". Docker Hub is "docker.io" or
  // "registry-1.docker.io".
  std::map<std::string, std::vector<std::string>> mirrors;
  // The docker config.json with credentials; empty: $DOCKER_CONFIG or ~/.docker.
  std::string docker_config;
  // An extra CA bundle for HTTPS registries; empty: the system's.
  std::string ca_file;
};

struct RetryPolicy {
  int attempts = 5;  // per request, including the first
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds max_retry_after{60000};
};

struct Endpoint {
  std::string base;  // "http://127.0.0.1:5000"
  std::string host;  // "127.0.0.1:5000"
  bool mirror = false;
};

class RegistryClient {
 public:
  RegistryClient(Ref ref, const RegistryConfig& config, RetryPolicy retry, const TransferControl& control);
  ~RegistryClient();

  const std::vector<Endpoint>& endpoints() const { return endpoints_; }

  struct Fetched {
    std::string body;
    std::string content_type;
    std::string digest;  // sha256 of body, verified
  };
  // GET /v2/<repo>/manifests/<reference> (a tag or a digest), at most
  // kMaxManifestSize bytes, verified against the digest when one is known.
  Fetched get_manifest(HttpSession& http, const std::string& reference);
  // GET a small blob (the config) into memory, verified.
  std::string get_small_blob(HttpSession& http, const Descriptor& d, int64_t max_size);
  // GET a blob into `writer` (resuming from its offset), verified and
  // committed. `done` follows the bytes held.
  void get_blob(HttpSession& http, const Descriptor& d, BlobWriter& writer, std::atomic<int64_t>& done);

 private:
  struct Auth;
  HttpResult request(HttpSession& http, const Endpoint& ep, const std::string& path, const char* accept,
                     Sink& sink, const std::string& what);
  void authenticate(HttpSession& http, const Endpoint& ep, const HttpResult& challenge,
                    const std::string& what);
  [[noreturn]] void fail_status(const Endpoint& ep, const HttpResult& r, const std::string& what,
                                int attempts);
  template <typename F>
  auto each_endpoint(F&& f, size_t first) -> decltype(f(std::declval<const Endpoint&>()));

  Ref ref_;
  RetryPolicy retry_;
  const TransferControl& control_;
  std::string docker_config_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> preferred_{0};
  std::unique_ptr<Auth> auth_;
};

// Sleeps, returning early (false) on Ctrl-C, the abort flag or the deadline.
bool sleep_for(std::chrono::milliseconds d, const TransferControl& control);

}  // namespace banger::oci
