#include "host/kernel/download.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/core/http.h"
#include "host/core/interrupt.h"
#include "host/core/sha256.h"

namespace banger::kernel {
namespace {

constexpr int kAttempts = 5;

// The archive into `dest`, hashed as it arrives; every attempt starts over.
class FileSink : public Sink {
 public:
  FileSink(int fd, bool file_url) : fd_(fd), file_url_(file_url) {}
  Begin begin(long status, const Headers&) override {
    if (status != 200 && !(file_url_ && status == 0)) return Begin::discard;
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
      write_errno = errno;
      return Begin::abort;
    }
    sha.reset();
    return Begin::accept;
  }
  bool write(const char* p, size_t n) override {
    for (size_t done = 0; done < n;) {
      ssize_t w = ::write(fd_, p + done, n - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        write_errno = errno;
        return false;
      }
      done += static_cast<size_t>(w);
    }
    sha.update(p, n);
    return true;
  }
  Sha256 sha;
  int write_errno = 0;

 private:
  int fd_;
  bool file_url_;
};

bool retryable(const HttpResult& r) {
  if (r.failure == TransportFailure::transient) return true;
  return r.failure == TransportFailure::none &&
         (r.status == 408 || r.status == 429 || (r.status >= 500 && r.status <= 504));
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
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno("creating " + dest);
  TransferControl control;
  control.allow_file = true;
  HttpSession http(control);
  FileSink sink(fd, url.rfind("file://", 0) == 0);
  HttpResult r;
  std::string what = "downloading kernel archive " + url;
  auto give_up = [&](ErrorKind kind, const std::string& message, const std::string& hint) {
    ::close(fd);
    ::unlink(dest.c_str());
    fail(kind, message, hint);
  };
  for (int attempt = 1;; attempt++) {
    r = http.get(url, {}, sink);
    if (r.failure == TransportFailure::interrupted) give_up(ErrorKind::interrupted, "interrupted", "");
    if (sink.write_errno) {
      errno = sink.write_errno;
      ::close(fd);
      ::unlink(dest.c_str());
      fail_errno("writing " + dest);
    }
    if (!retryable(r) || attempt == kAttempts) break;
    auto delay = std::chrono::milliseconds(500) * (1 << (attempt - 1));
    spdlog::debug("{}: {}; retrying in {} ms", what,
                  r.failure == TransportFailure::none ? status_text(r.status) : r.failure_text,
                  delay.count());
    for (auto until = std::chrono::steady_clock::now() + delay; std::chrono::steady_clock::now() < until;) {
      if (interrupted()) give_up(ErrorKind::interrupted, "interrupted", "");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (r.failure != TransportFailure::none)
    give_up(ErrorKind::network, what + ": " + r.failure_text, "check the URL and the network");
  if (r.status != 200 && !(r.status == 0 && url.rfind("file://", 0) == 0))
    give_up(ErrorKind::network, what + ": " + status_text(r.status), "check the URL and the network");
  ::close(fd);
  std::string got = sink.sha.finish().substr(7);
  if (got != want) {
    ::unlink(dest.c_str());
    fail(ErrorKind::invalid_input,
         "kernel archive " + url + ": sha256 mismatch: expected " + want + ", got " + got,
         "the download is corrupt or the catalog's sha256 is wrong; do not use this archive");
  }
  spdlog::debug("downloaded {} (sha256 {})", url, got);
}

}  // namespace banger::kernel
