// The one libcurl setup: an easy handle per thread, used for GETs whose
// body goes to a sink (registry blobs and manifests, kernel archives).
// Knows nothing about registries: no auth, no retries (host/oci/registry.cc
// and host/kernel/download.cc add theirs). Transfers stop early on Ctrl-C,
// on an abort flag and at a deadline; failures are sorted into retryable and
// not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

using Clock = std::chrono::steady_clock;

// Shared by all transfers of one pull.
struct TransferControl {
  Clock::time_point deadline = Clock::time_point::max();
  std::atomic<bool>* abort = nullptr;  // set by the pull when another part failed
  std::string ca_file;                 // extra CA bundle (tests); empty = system
  bool allow_file = false;             // file:// URLs too (kernel archives from a local mirror)
};

// Header names are lowercased; for a redirected request, the last response's.
using Headers = std::map<std::string, std::string>;

// Where a response body goes.
class Sink {
 public:
  enum class Begin { accept, discard, abort };
  virtual ~Sink() = default;
  // The byte offset to ask for with a Range header (0: no Range).
  virtual int64_t range_offset() { return 0; }
  // Called once per attempt when the final response's status and headers are
  // known. `discard` keeps the body (bounded) in HttpResult::error_body.
  virtual Begin begin(long status, const Headers& headers) = 0;
  // Return false to abort the transfer.
  virtual bool write(const char* data, size_t size) = 0;
};

// A sink that keeps a bounded body in memory.
class MemorySink : public Sink {
 public:
  explicit MemorySink(int64_t max_size) : max_(max_size) {}
  Begin begin(long status, const Headers& headers) override;
  bool write(const char* data, size_t size) override;
  std::string body;
  bool too_large = false;

 private:
  int64_t max_;
};

enum class TransportFailure {
  none,
  connect,      // refused / unreachable / DNS: not retried
  tls,          // certificate problems: not retried
  transient,    // reset, truncated body, timeout: retried
  protocol,     // a redirect loop, an unsupported scheme, a garbled answer: the
                // same again on a retry, so not retried
  aborted,      // the sink said stop
  interrupted,  // Ctrl-C
  cancelled,    // the pull's abort flag
  deadline,
};

struct HttpResult {
  long status = 0;
  Headers headers;
  std::string error_body;  // body of a discarded response (bounded)
  TransportFailure failure = TransportFailure::none;
  std::string failure_text;  // "connection refused", curl's message
  // The URL of the last request made (after redirects): the host that
  // failed is not always the one asked.
  std::string url;
};

// "host:port" of an http(s) URL (the scheme's default port when none is
// given); empty when `url` is not http(s).
std::string url_host_port(std::string_view url);
// The host of an http(s) URL without its port ("127.0.0.1", "[::1]").
std::string url_host(std::string_view url);

class HttpSession {
 public:
  explicit HttpSession(const TransferControl& control);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // GET `url` with extra request headers ("Name: value"). Never throws for
  // HTTP or transport failures: they are in the result.
  HttpResult get(const std::string& url, const std::vector<std::string>& headers, Sink& sink);

 private:
  void* curl_;
  const TransferControl& control_;
};

// "404 not found", "429 too many requests", "HTTP 418".
std::string status_text(long status);

}  // namespace banger
