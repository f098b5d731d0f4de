#include "host/oci/registry.h"

#include <curl/curl.h>

#include <algorithm>
#include <exception>
#include <thread>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/interrupt.h"
#include "host/oci/challenge.h"
#include "host/oci/digest.h"
#include "host/oci/docker_config.h"

namespace banger::oci {

namespace {

bool retryable_status(long s) { return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

std::string host_port(const Endpoint& ep) {
  std::string h = ep.host;
  size_t close = h.rfind(']');
  size_t colon = h.rfind(':');
  bool has_port = colon != std::string::npos && (close == std::string::npos || colon > close);
  if (!has_port) h += ep.base.rfind("https://", 0) == 0 ? ":443" : ":80";
  return h;
}

Endpoint make_endpoint(std::string_view spec, const RegistryConfig& config, bool mirror) {
  Endpoint ep;
  ep.mirror = mirror;
  std::string_view rest = spec;
  std::string scheme;
  if (size_t p = rest.find("://"); p != std::string_view::npos) {
    scheme = std::string(rest.substr(0, p));
    rest.remove_prefix(p + 3);
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  ep.host = std::string(rest);
  if (scheme.empty()) {
    bool insecure = is_loopback_host(ep.host) || std::find(config.insecure.begin(), config.insecure.end(),
                                                           ep.host) != config.insecure.end();
    scheme = insecure ? "http" : "https";
  }
  ep.base = scheme + "://" + ep.host;
  return ep;
}

std::string url_escape(std::string_view s) {
  std::string out;
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

// The registry's own words from an error body: {"errors":[{"code":..,"message":..}]}.
std::string registry_message(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() ||
      doc["errors"].empty())
    return {};
  const auto& e = doc["errors"][0];
  if (e.is_object() && e.contains("message") && e["message"].is_string())
    return e["message"].get<std::string>();
  return {};
}

std::chrono::milliseconds retry_after(const Headers& h) {
  auto it = h.find("retry-after");
  if (it == h.end()) return std::chrono::milliseconds(0);
  const std::string& v = it->second;
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::chrono::seconds(std::stoll(v.substr(0, 9)));  // up to 31 years: shown as asked, then refused
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::chrono::milliseconds(0);
  time_t now = time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

std::string seconds_text(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

[[noreturn]] void fail_transport(const Endpoint& ep, const HttpResult& r, const std::string& what,
                                 int attempts) {
  // After a redirect the host that failed is not the registry: name both.
  std::string reg = host_port(ep);
  std::string at = url_host_port(r.url);
  if (at.empty()) at = reg;
  bool moved = at != reg;
  std::string via = moved ? " (redirected there by " + reg + ")" : "";
  switch (r.failure) {
    case TransportFailure::interrupted:
      fail(ErrorKind::interrupted, "interrupted",
           "the pull was cancelled with Ctrl-C; finished blobs stay cached");
    case TransportFailure::cancelled:
      fail(ErrorKind::interrupted, "cancelled", "another part of the pull failed");
    case TransportFailure::deadline:
      fail(ErrorKind::network, what + ": gave up at the pull's deadline",
           "the registry at " + at + " is too slow; try again or raise the pull timeout");
    case TransportFailure::connect:
      fail(ErrorKind::network, "cannot connect to " + at + via + ": " + r.failure_text,
           moved ? "the registry at " + reg + " sent banger to " + at +
                       ", which does not answer; the registry's storage or redirect setup is broken"
                 : "check that a registry is running and reachable at " + at +
                       " and that the image reference names the right host and port");
    case TransportFailure::tls:
      fail(ErrorKind::network, what + ": TLS with " + at + via + ": " + r.failure_text,
           moved ? "the registry at " + reg + " redirected to " + at + ", whose certificate is not trusted"
                 : "if this registry has no valid certificate, list \"" + ep.host +
                       "\" as an insecure registry in banger's config (plain HTTP)");
    case TransportFailure::protocol:
      fail(ErrorKind::network, what + ": " + r.failure_text + " (at " + at + via + ")",
           "the server at " + at +
               " does not answer like a registry (banger does not retry this); "
               "check the registry's address and configuration");
    default:
      fail(ErrorKind::network,
           what + ": " + r.failure_text + (moved ? " at " + at + via : "") + " (gave up after " +
               std::to_string(attempts) + " attempts)",
           "the connection to " + at + " keeps failing; check the network and try again");
  }
}

// Why a wait before a retry was cut short, as a transfer failure.
HttpResult stopped(const TransferControl& control) {
  HttpResult r;
  r.failure = interrupted()                              ? TransportFailure::interrupted
              : (control.abort && control.abort->load()) ? TransportFailure::cancelled
                                                         : TransportFailure::deadline;
  return r;
}

// Waits before a retry; Ctrl-C (exit 130), the abort flag or the deadline
// during the wait fail the way a transfer stopped by them does.
void wait_retry(std::chrono::milliseconds d, const TransferControl& control, const Endpoint& ep,
                const std::string& what, int attempts) {
  if (!sleep_for(d, control)) fail_transport(ep, stopped(control), what, attempts);
}

// The pause before the retry that follows `attempt` (1-based). A retryable
// answer's Retry-After is honoured up to the policy's cap, counting what this
// request already waited: a registry asking for more fails now, clearly,
// rather than holding the pull for minutes.
std::chrono::milliseconds retry_delay(const RetryPolicy& p, int attempt, const HttpResult* r,
                                      std::chrono::milliseconds& waited, const Endpoint& ep,
                                      const std::string& what) {
  auto delay = std::min(p.initial_backoff * (1 << std::min(attempt - 1, 16)), p.max_backoff);
  if (r) {
    auto ra = retry_after(r->headers);
    if (ra > delay) {
      if (waited + ra > p.max_retry_after)
        fail(ErrorKind::network,
             what + ": " + status_text(r->status) + ", and the registry asks to wait " + seconds_text(ra) +
                 " more (banger waits at most " + seconds_text(p.max_retry_after) + ")",
             "the registry at " + host_port(ep) + " is rate-limiting or overloaded; try again later");
      delay = ra;
    }
  }
  waited += delay;
  return delay;
}

// Where the user's credentials may go for a token: an https realm (as docker
// and containers/image do), or, when banger already speaks plain http to the
// registry (loopback, or listed insecure), a realm on that same host. An
// https registry never has its token exchange downgraded to plain http, with
// or without credentials: a token fetched in clear could be swapped.
void check_realm(const Endpoint& ep, const std::string& realm, bool creds, const std::string& what,
                 const std::string& config) {
  bool realm_https = realm.rfind("https://", 0) == 0;
  bool realm_http = realm.rfind("http://", 0) == 0;
  bool ep_https = ep.base.rfind("https://", 0) == 0;
  std::string reg = host_port(ep);
  std::string shown = realm.substr(0, 200);
  if (!realm_https && !realm_http)
    fail(ErrorKind::auth, what + ": token realm \"" + shown + "\" refused: not an http(s) URL",
         "the registry at " + reg + " sent a malformed WWW-Authenticate challenge");
  if (realm_http && ep_https)
    fail(ErrorKind::auth,
         what + ": token realm " + shown + " refused: plain http for a registry reached over https",
         "the registry at " + reg +
             " wants its token fetched over plain http, which would expose it; its token realm must be an "
             "https URL");
  if (realm_http && creds && url_host(realm) != url_host(ep.base))
    fail(ErrorKind::auth,
         what + ": token realm " + shown + " refused: banger does not send the credentials for " + ep.host +
             " to another host (" + url_host_port(realm) + ") over plain http",
         "the registry at " + reg +
             " hands its logins to another host; if that is expected, give it an https token realm, or "
             "remove the credentials for " +
             ep.host + " from " + config + " to pull anonymously");
}

// Writes a blob body into the cache writer, resuming only on a matching 206.
class BlobSink : public Sink {
 public:
  BlobSink(BlobWriter& w, int64_t size, std::atomic<int64_t>& done) : w_(w), size_(size), done_(done) {}
  int64_t range_offset() override {
    requested_ = w_.offset();
    done_ = requested_;
    return requested_;
  }
  Begin begin(long status, const Headers& h) override {
    if (status == 200) {
      if (w_.offset() > 0) {
        spdlog::debug("server ignored Range; downloading from byte 0");
        w_.restart();
        done_ = 0;
      }
      return Begin::accept;
    }
    if (status == 206) {
      auto it = h.find("content-range");
      long long start = -1, total = -2;
      if (it != h.end()) {
        // "bytes START-END/TOTAL" (TOTAL may be "*")
        long long end = -1;
        char tail[32] = {0};
        if (std::sscanf(it->second.c_str(), "bytes %lld-%lld/%31s", &start, &end, tail) == 3) {
          if (std::string_view(tail) == "*") total = -1;
          else total = std::strtoll(tail, nullptr, 10);
        }
      }
      if (start == requested_ && requested_ == w_.offset() && (total == size_ || total == -1))
        return Begin::accept;
      spdlog::debug("206 with Content-Range \"{}\" does not match offset {}; starting over",
                    it == h.end() ? "" : it->second, requested_);
      restart_needed = true;
      return Begin::abort;
    }
    return Begin::discard;
  }
  bool write(const char* data, size_t size) override {
    // Called from libcurl's C callback: an error (a full disk) must not
    // unwind through it; it is rethrown once the transfer has stopped.
    try {
      if (!w_.write(data, size)) {
        too_large = true;
        return false;
      }
    } catch (...) {
      failed = std::current_exception();
      return false;
    }
    done_ += static_cast<int64_t>(size);
    return true;
  }
  bool restart_needed = false;
  bool too_large = false;
  std::exception_ptr failed;

 private:
  BlobWriter& w_;
  int64_t size_;
  std::atomic<int64_t>& done_;
  int64_t requested_ = 0;
};

}  // namespace

bool sleep_for(std::chrono::milliseconds d, const TransferControl& control) {
  auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (interrupted() || (control.abort && control.abort->load()) || Clock::now() >= control.deadline)
      return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(50)));
  }
  return true;
}

struct RegistryClient::Auth {
  std::mutex mu;
  std::map<std::string, std::string> authorization;  // endpoint host -> header value
  std::map<std::string, std::optional<Credentials>> credentials;
};

RegistryClient::RegistryClient(Ref ref, const RegistryConfig& config, RetryPolicy retry,
                               const TransferControl& control)
    : ref_(std::move(ref)),
      retry_(retry),
      control_(control),
      docker_config_(docker_config_path(config.docker_config)),
      auth_(std::make_unique<Auth>()) {
  for (const auto& [key, list] : config.mirrors) {
    std::string k = key;
    if (k == "docker.io" || k == "index.docker.io") k = std::string(kDockerHub);
    if (k != ref_.registry) continue;
    for (const auto& m : list) endpoints_.push_back(make_endpoint(m, config, true));
  }
  endpoints_.push_back(make_endpoint(ref_.registry, config, false));
}

RegistryClient::~RegistryClient() = default;

void RegistryClient::authenticate(HttpSession& http, const Endpoint& ep, const HttpResult& r,
                                  const std::string& what) {
  auto it = r.headers.find("www-authenticate");
  Challenge c = parse_challenge(it == r.headers.end() ? "" : it->second);
  std::optional<Credentials> creds;
  {
    std::lock_guard lock(auth_->mu);
    auto found = auth_->credentials.find(ep.host);
    if (found == auth_->credentials.end())
      found = auth_->credentials.emplace(ep.host, find_credentials(docker_config_, ep.host)).first;
    creds = found->second;
  }
  std::string basic = creds ? "Basic " + base64_encode(creds->username + ":" + creds->password) : "";
  if (c.scheme == "basic") {
    if (!creds) fail_status(ep, r, what, 1);
    std::lock_guard lock(auth_->mu);
    auth_->authorization[ep.host] = basic;
    return;
  }
  if (c.scheme != "bearer" || c.params["realm"].empty()) fail_status(ep, r, what, 1);
  std::string realm = c.params["realm"];
  std::string scope = c.params.count("scope") ? c.params["scope"] : "repository:" + ref_.repository + ":pull";
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (c.params.count("service")) url += "service=" + url_escape(c.params["service"]) + "&";
  url += "scope=" + url_escape(scope);
  std::string config = docker_config_.empty() ? std::string("~/.docker/config.json") : docker_config_;
  check_realm(ep, realm, creds.has_value(), what, config);
  std::vector<std::string> headers;
  if (creds) headers.push_back("Authorization: " + basic);
  std::string token_what = what + ": token from " + realm;
  Endpoint realm_ep = make_endpoint(realm, {}, false);
  std::chrono::milliseconds waited{0};
  for (int attempt = 1;; attempt++) {
    MemorySink sink(1 << 20);
    HttpResult t = http.get(url, headers, sink);
    if (t.failure != TransportFailure::none) {
      if (t.failure == TransportFailure::transient && attempt < retry_.attempts) {
        wait_retry(retry_delay(retry_, attempt, nullptr, waited, realm_ep, token_what), control_, realm_ep,
                   token_what, attempt);
        continue;
      }
      fail_transport(realm_ep, t, token_what, attempt);
    }
    if (retryable_status(t.status) && attempt < retry_.attempts) {
      wait_retry(retry_delay(retry_, attempt, &t, waited, realm_ep, token_what), control_, realm_ep,
                 token_what, attempt);
      continue;
    }
    if (t.status == 401 || t.status == 403) {
      fail(ErrorKind::auth, token_what + ": " + status_text(t.status),
           creds ? "the credentials for " + ep.host + " in " + creds->source +
                       " were rejected; run `docker login " + ep.host + "` again"
                 : "this registry wants credentials: run `docker login " + ep.host + "` or add them for " +
                       ep.host + " to " + config);
    }
    if (retryable_status(t.status))
      fail(ErrorKind::network,
           token_what + ": " + status_text(t.status) + " (gave up after " + std::to_string(attempt) +
               " attempts)",
           "the token service at " + host_port(realm_ep) + " keeps failing; try again later");
    if (t.status != 200)
      fail(ErrorKind::network, token_what + ": " + status_text(t.status),
           "the registry's token service at " + host_port(realm_ep) + " refused the request");
    auto doc = nlohmann::json::parse(sink.body, nullptr, false);
    std::string token;
    if (doc.is_object()) {
      if (doc.contains("token") && doc["token"].is_string()) token = doc["token"];
      else if (doc.contains("access_token") && doc["access_token"].is_string()) token = doc["access_token"];
    }
    if (token.empty())
      fail(ErrorKind::network, token_what + ": the answer has no token",
           "the registry's token service is broken");
    std::lock_guard lock(auth_->mu);
    auth_->authorization[ep.host] = "Bearer " + token;
    return;
  }
}

void RegistryClient::fail_status(const Endpoint& ep, const HttpResult& r, const std::string& what,
                                 int attempts) {
  std::string msg = registry_message(r.error_body);
  std::string reg = host_port(ep);
  std::string at = url_host_port(r.url);
  if (!at.empty() && at != reg) {
    // A redirect target (blob storage) answered: its failure is not the
    // registry's, nor a question of the user's credentials.
    std::string detail = status_text(r.status) + (msg.empty() ? "" : " (" + msg + ")");
    fail(r.status == 404 ? ErrorKind::not_found : ErrorKind::network,
         what + ": " + detail + " from " + at + " (redirected there by " + reg + ")" +
             (retryable_status(r.status) ? " (gave up after " + std::to_string(attempts) + " attempts)" : ""),
         "the registry at " + reg + " sent banger to " + at +
             ", which refused the request; the registry's storage or redirect setup is broken");
  }
  if (r.status == 401 || r.status == 403) {
    std::optional<Credentials> creds;
    {
      std::lock_guard lock(auth_->mu);
      auto it = auth_->credentials.find(ep.host);
      if (it != auth_->credentials.end()) creds = it->second;
    }
    std::string hint =
        creds ? "the credentials for " + ep.host + " in " + creds->source +
                    " were rejected; run `docker login " + ep.host + "` again"
              : "log in with `docker login " + ep.host + "`, or add credentials for " + ep.host + " to " +
                    (docker_config_.empty() ? std::string("~/.docker/config.json") : docker_config_);
    fail(ErrorKind::auth, what + ": " + status_text(r.status), hint);
  }
  std::string detail = status_text(r.status);
  if (!msg.empty()) detail += " (" + msg + ")";
  if (retryable_status(r.status))
    fail(ErrorKind::network,
         what + ": " + detail + " (gave up after " + std::to_string(attempts) + " attempts)",
         "the registry at " + host_port(ep) + " keeps failing; try again later");
  if (r.status == 404)
    fail(ErrorKind::not_found, what + ": " + detail,
         "the registry at " + host_port(ep) + " does not have it");
  fail(ErrorKind::network, what + ": " + detail, "the registry at " + host_port(ep) + " refused the request");
}

HttpResult RegistryClient::request(HttpSession& http, const Endpoint& ep, const std::string& path,
                                   const char* accept, Sink& sink, const std::string& what) {
  std::string url = ep.base + "/v2/" + ref_.repository + path;
  bool fetched_auth = false;
  std::chrono::milliseconds waited{0};
  for (int attempt = 1;;) {
    std::vector<std::string> headers;
    if (accept) headers.push_back(std::string("Accept: ") + accept);
    {
      std::lock_guard lock(auth_->mu);
      auto it = auth_->authorization.find(ep.host);
      if (it != auth_->authorization.end()) {
        headers.push_back("Authorization: " + it->second);
      }
    }
    HttpResult r = http.get(url, headers, sink);
    if (r.failure == TransportFailure::aborted) return r;  // the caller's sink decided
    if (r.failure != TransportFailure::none) {
      if (r.failure == TransportFailure::transient && attempt < retry_.attempts) {
        auto delay = retry_delay(retry_, attempt, nullptr, waited, ep, what);
        spdlog::debug("{}: {}; retrying in {} ms", what, r.failure_text, delay.count());
        wait_retry(delay, control_, ep, what, attempt);
        attempt++;
        continue;
      }
      fail_transport(ep, r, what, attempt);
    }
    if (r.status == 401 && !fetched_auth) {
      // No credentials yet, or an expired token: ask once.
      authenticate(http, ep, r, what);
      fetched_auth = true;
      continue;  // not counted as an attempt
    }
    if (r.status == 401) fail_status(ep, r, what, attempt);
    if (retryable_status(r.status)) {
      if (attempt >= retry_.attempts) fail_status(ep, r, what, attempt);
      auto delay = retry_delay(retry_, attempt, &r, waited, ep, what);
      spdlog::debug("{}: {}; retrying in {} ms", what, status_text(r.status), delay.count());
      wait_retry(delay, control_, ep, what, attempt);
      attempt++;
      continue;
    }
    return r;
  }
}

template <typename F>
auto RegistryClient::each_endpoint(F&& f, size_t first) -> decltype(f(std::declval<const Endpoint&>())) {
  // Mirrors first (or the one that served the manifest), the registry last.
  std::vector<size_t> order;
  order.push_back(first);
  for (size_t i = 0; i < endpoints_.size(); i++)
    if (i != first) order.push_back(i);
  for (size_t k = 0; k < order.size(); k++) {
    const Endpoint& ep = endpoints_[order[k]];
    if (k + 1 == order.size()) return f(ep);
    try {
      return f(ep);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::interrupted || e.kind() == ErrorKind::invalid_input) throw;
      if (e.kind() == ErrorKind::not_found)
        spdlog::debug("mirror {}: {}; trying the next endpoint", ep.host, e.message());
      else spdlog::warn("mirror {} failed ({}); trying the next endpoint", ep.host, e.message());
    }
  }
  fail(ErrorKind::internal, "no registry endpoint");
}

RegistryClient::Fetched RegistryClient::get_manifest(HttpSession& http, const std::string& reference) {
  bool by_digest = is_valid_digest(reference);
  std::string what = by_digest ? "manifest " + reference : "manifest";
  return each_endpoint(
      [&](const Endpoint& ep) {
        MemorySink sink(kMaxManifestSize);
        HttpResult r = request(http, ep, "/manifests/" + reference, kManifestAccept, sink, what);
        if (r.failure == TransportFailure::aborted || sink.too_large)
          fail(ErrorKind::invalid_input,
               what + ": larger than " + std::to_string(kMaxManifestSize) + " bytes",
               "banger refuses manifests over 4 MiB; the registry may be serving something else");
        if (r.status == 404 && (!by_digest || reference == ref_.digest))
          fail(ErrorKind::not_found, "manifest unknown",
               "check the repository name and the " + std::string(by_digest ? "digest" : "tag") + ": " +
                   ep.host + " has no " + ref_.repository + (by_digest ? "@" : ":") + reference);
        if (r.status == 404)
          fail(ErrorKind::not_found, what + ": manifest unknown",
               ep.host + " has no manifest " + reference + " in " + ref_.repository);
        if (r.status != 200) fail_status(ep, r, what, 1);
        Fetched f;
        f.body = std::move(sink.body);
        auto ct = r.headers.find("content-type");
        if (ct != r.headers.end()) f.content_type = ct->second;
        f.digest = sha256_digest(f.body);
        std::string expected = by_digest ? reference : "";
        if (!by_digest) {
          auto dh = r.headers.find("docker-content-digest");
          if (dh != r.headers.end() && is_valid_digest(dh->second)) expected = dh->second;
        }
        if (!expected.empty() && expected != f.digest)
          fail(ErrorKind::invalid_input,
               "manifest " + expected + ": digest mismatch (expected " + expected + ", got " + f.digest + ")",
               "the registry served a manifest that does not match its digest; nothing was cached");
        if (&ep != &endpoints_[preferred_]) preferred_ = static_cast<size_t>(&ep - endpoints_.data());
        return f;
      },
      preferred_);
}

std::string RegistryClient::get_small_blob(HttpSession& http, const Descriptor& d, int64_t max_size) {
  std::string what = "blob " + d.digest;
  if (d.size > max_size)
    fail(ErrorKind::invalid_input, what + ": larger than " + std::to_string(max_size) + " bytes",
         "the image config is unreasonably large");
  return each_endpoint(
      [&](const Endpoint& ep) {
        MemorySink sink(max_size);
        HttpResult r = request(http, ep, "/blobs/" + d.digest, nullptr, sink, what);
        if (r.failure == TransportFailure::aborted || sink.too_large)
          fail(ErrorKind::invalid_input, what + ": larger than " + std::to_string(max_size) + " bytes",
               "the image config is unreasonably large");
        if (r.status != 200) fail_status(ep, r, what, 1);
        std::string got = sha256_digest(sink.body);
        if (got != d.digest)
          fail(ErrorKind::invalid_input,
               what + ": digest mismatch (expected " + d.digest + ", got " + got + ")",
               "the registry served data that does not match its digest; nothing was cached");
        return std::move(sink.body);
      },
      preferred_);
}

void RegistryClient::get_blob(HttpSession& http, const Descriptor& d, BlobWriter& writer,
                              std::atomic<int64_t>& done) {
  std::string what = "blob " + d.digest;
  each_endpoint(
      [&](const Endpoint& ep) {
        bool fresh_retry = false;
        for (int attempt = 1;; attempt++) {
          int64_t start = writer.offset();
          if (start == d.size) {
            // A complete partial from an earlier run (or an empty blob): verify it as it is.
            try {
              writer.commit();
              done = d.size;
              return 0;
            } catch (const Error& e) {
              if (e.kind() != ErrorKind::invalid_input) throw;
              start = 0;  // commit() started the writer over
            }
          }
          BlobSink sink(writer, d.size, done);
          HttpResult r = request(http, ep, "/blobs/" + d.digest, nullptr, sink, what);
          if (sink.failed) std::rethrow_exception(sink.failed);
          if (sink.too_large) {
            writer.discard();
            fail(ErrorKind::invalid_input, what + ": larger than its " + std::to_string(d.size) + " bytes",
                 "the registry served data that does not match its descriptor; it was discarded");
          }
          if (sink.restart_needed || r.status == 416) {
            writer.restart();
            if (attempt < retry_.attempts) continue;
          }
          if (r.failure != TransportFailure::none && r.failure != TransportFailure::aborted)
            fail_transport(ep, r, what, attempt);
          if (r.status != 200 && r.status != 206) fail_status(ep, r, what, attempt);
          if (writer.offset() < d.size) {
            // Truncated body: resume (or start over) after a pause.
            spdlog::debug("{}: body ended at byte {} of {}; retrying", what, writer.offset(), d.size);
            if (attempt < retry_.attempts) {
              wait_retry(
                  std::min(retry_.initial_backoff * (1 << std::min(attempt - 1, 16)), retry_.max_backoff),
                  control_, ep, what, attempt);
              continue;
            }
            fail(ErrorKind::network,
                 what + ": the body ended after " + std::to_string(writer.offset()) + " of " +
                     std::to_string(d.size) + " bytes (gave up after " + std::to_string(attempt) +
                     " attempts)",
                 "the connection to " + host_port(ep) + " keeps breaking; pull again to resume");
          }
          try {
            writer.commit();
            return 0;
          } catch (const Error& e) {
            // A corrupt partial from an earlier run: one fresh download.
            if (e.kind() != ErrorKind::invalid_input || start == 0 || fresh_retry) throw;
            fresh_retry = true;
            spdlog::debug("{}: resumed download failed verification; downloading again", what);
          }
        }
      },
      preferred_);
}

}  // namespace banger::oci
