#include "host/kernel/download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/core/interrupt.h"
#include "host/core/sha256.h"

namespace banger::kernel {
namespace {

struct Sink {
  int fd;
  Sha256* md;
  bool write_failed = false;
  int write_errno = 0;
};

size_t on_data(char* p, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t total = size * n;
  size_t done = 0;
  while (done < total) {
    ssize_t w = ::write(sink->fd, p + done, total - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      sink->write_failed = true;
      sink->write_errno = errno;
      return 0;
    }
    done += size_t(w);
  }
  sink->md->update(p, total);
  return total;
}

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return interrupted() ? 1 : 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string sha256_file(const std::string& path) {
  return banger::sha256_file(path).substr(7);  // the catalog's form: bare hex
}

void download_verified(const std::string& url, const std::string& sha256, const std::string& dest) {
  std::string want = lower(sha256);
  if (want.rfind("sha256:", 0) == 0) want.erase(0, 7);
  if (want.size() != 64 || want.find_first_not_of("0123456789abcdef") != std::string::npos) {
    fail(ErrorKind::invalid_input, "kernel archive " + url + ": bad sha256 \"" + sha256 + "\"",
         "the catalog entry needs \"sha256\": the 64 hex digits of the archive's digest");
  }
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) fail(ErrorKind::internal, "libcurl: cannot create a handle");
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno("creating " + dest);
  Sha256 md;
  Sink sink{fd, &md};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  CURLcode rc = curl_easy_perform(curl.get());
  ::close(fd);
  if (rc != CURLE_OK) {
    ::unlink(dest.c_str());
    check_interrupted();
    if (sink.write_failed) {
      errno = sink.write_errno;
      fail_errno("writing " + dest);
    }
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    fail(ErrorKind::network, "downloading kernel archive " + url + ": " + why,
         "check the URL and the network");
  }
  std::string got = md.finish().substr(7);
  if (got != want) {
    ::unlink(dest.c_str());
    fail(ErrorKind::invalid_input,
         "kernel archive " + url + ": sha256 mismatch: expected " + want + ", got " + got,
         "the download is corrupt or the catalog's sha256 is wrong; do not use this archive");
  }
  spdlog::debug("downloaded {} (sha256 {})", url, got);
}

}  // namespace banger::kernel
