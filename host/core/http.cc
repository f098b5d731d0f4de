#include "host/core/http.h"

#include <curl/curl.h>

#include <cctype>
#include <cstring>
#include <mutex>

#include "host/core/interrupt.h"

namespace banger {

namespace {

constexpr size_t kMaxErrorBody = 64 << 10;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* curl;
  Sink* sink;
  const TransferControl* control;
  HttpResult* result;
  bool begun = false;
  Sink::Begin mode = Sink::Begin::accept;
  bool sink_aborted = false;
  TransportFailure stop = TransportFailure::none;

  void start() {
    if (begun) return;
    begun = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->status);
    mode = sink->begin(result->status, result->headers);
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    t->result->headers.clear();  // a new response (after a redirect or 100)
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t->result->headers[name] = std::string(value);
  return len;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  t->start();
  switch (t->mode) {
    case Sink::Begin::abort:
      t->sink_aborted = true;
      return 0;
    case Sink::Begin::discard:
      if (t->result->error_body.size() < kMaxErrorBody)
        t->result->error_body.append(data, std::min(len, kMaxErrorBody - t->result->error_body.size()));
      return len;
    case Sink::Begin::accept:
      if (!t->sink->write(data, len)) {
        t->sink_aborted = true;
        return 0;
      }
      return len;
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (interrupted()) t->stop = TransportFailure::interrupted;
  else if (t->control->abort && t->control->abort->load()) t->stop = TransportFailure::cancelled;
  else if (Clock::now() >= t->control->deadline) t->stop = TransportFailure::deadline;
  return t->stop == TransportFailure::none ? 0 : 1;
}

std::string lower_first(std::string s) {
  // "Connection refused" -> "connection refused"; "SSL ..." stays.
  if (s.size() > 1 && std::islower(static_cast<unsigned char>(s[1])))
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

Sink::Begin MemorySink::begin(long status, const Headers& headers) {
  if (status != 200) return Begin::discard;
  auto it = headers.find("content-length");
  if (it != headers.end() && std::strtoll(it->second.c_str(), nullptr, 10) > max_) {
    too_large = true;
    return Begin::abort;
  }
  body.clear();
  return Begin::accept;
}

bool MemorySink::write(const char* data, size_t size) {
  if (static_cast<int64_t>(body.size() + size) > max_) {
    too_large = true;
    return false;
  }
  body.append(data, size);
  return true;
}

HttpSession::HttpSession(const TransferControl& control) : control_(control) {
  global_init();
  curl_ = curl_easy_init();
  if (!curl_) throw std::bad_alloc();
}

HttpSession::~HttpSession() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResult HttpSession::get(const std::string& url, const std::vector<std::string>& headers, Sink& sink) {
  CURL* c = static_cast<CURL*>(curl_);
  HttpResult result;
  if (interrupted()) {
    result.failure = TransportFailure::interrupted;
    return result;
  }
  Transfer t{c, &sink, &control_, &result};
  curl_easy_reset(c);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  int64_t offset = sink.range_offset();
  std::string range;
  if (offset > 0) {
    range = std::to_string(offset) + "-";
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "banger/0.1");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, control_.allow_file ? "http,https,file" : "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled connection (under 1 KiB/s for 60 s) counts as a transient failure.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (!control_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, control_.ca_file.c_str());
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  result.url = effective ? effective : url;
  if (rc == CURLE_OK) {
    t.start();  // empty bodies
    return result;
  }
  if (t.stop != TransportFailure::none) {
    result.failure = t.stop;
  } else if (t.sink_aborted || rc == CURLE_WRITE_ERROR) {
    result.failure = TransportFailure::aborted;
  } else {
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        result.failure = TransportFailure::connect;
        break;
      case CURLE_TOO_MANY_REDIRECTS:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_BAD_CONTENT_ENCODING:
        result.failure = TransportFailure::protocol;
        break;
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CONNECT_ERROR:
        result.failure = TransportFailure::tls;
        break;
      default:
        result.failure = TransportFailure::transient;
    }
  }
  long os_errno = 0;
  curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
  if (rc == CURLE_COULDNT_CONNECT && os_errno != 0)
    result.failure_text = lower_first(std::strerror(static_cast<int>(os_errno)));
  else if (errbuf[0]) result.failure_text = lower_first(errbuf);
  else result.failure_text = lower_first(curl_easy_strerror(rc));
  if (result.status == 0) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

std::string url_host_port(std::string_view url) {
  std::string_view scheme;
  if (url.rfind("https://", 0) == 0) scheme = "https";
  else if (url.rfind("http://", 0) == 0) scheme = "http";
  else return {};
  std::string_view rest = url.substr(scheme.size() + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);  // user:pass@
  std::string hp(rest);
  for (auto& ch : hp) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  size_t close = hp.rfind(']');
  size_t colon = hp.rfind(':');
  bool has_port = colon != std::string::npos && (close == std::string::npos || colon > close);
  if (!has_port) hp += scheme == "https" ? ":443" : ":80";
  return hp;
}

std::string url_host(std::string_view url) {
  std::string hp = url_host_port(url);
  return hp.substr(0, hp.rfind(':'));
}

std::string status_text(long status) {
  static const struct {
    long code;
    const char* text;
  } kTexts[] = {
      {400, "bad request"},
      {401, "unauthorized"},
      {403, "forbidden"},
      {404, "not found"},
      {405, "method not allowed"},
      {408, "request timeout"},
      {416, "range not satisfiable"},
      {429, "too many requests"},
      {500, "internal server error"},
      {502, "bad gateway"},
      {503, "service unavailable"},
      {504, "gateway timeout"},
  };
  for (const auto& t : kTexts)
    if (t.code == status) return std::to_string(status) + " " + t.text;
  return "HTTP " + std::to_string(status);
}

}  // namespace banger
