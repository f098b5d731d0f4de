#include "host/net/net_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

namespace banger::net {

namespace {

constexpr int64_t kRepeatMs = 1000;
constexpr size_t kMaxRecent = 1024;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string dotted(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace

NetLog::NetLog(const std::string& path) {
  if (path.empty()) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  struct stat st {};
  if (fstat(fd, &st) == 0) bytes_ = static_cast<size_t>(st.st_size);
  file_ = fdopen(fd, "a");
  if (!file_) ::close(fd);
}

NetLog::~NetLog() {
  if (file_) fclose(file_);
}

std::string NetLog::format(const EgressAttempt& a) {
  std::string what = a.proto == "dns"
                         ? "dns " + a.name
                         : a.proto + " " + dotted(a.dst) + (a.port ? ":" + std::to_string(a.port) : "") +
                               (a.name.empty() ? "" : " (" + a.name + ")");
  return what + (a.allowed ? " allowed (" : " refused (") + a.why + ")";
}

void NetLog::write(const EgressAttempt& a) {
  if (!file_ || full_) return;
  std::string line = format(a);
  int64_t now = now_ms();
  auto it = recent_.find(line);
  if (it != recent_.end() && now - it->second < kRepeatMs) return;
  if (recent_.size() >= kMaxRecent) recent_.clear();
  recent_[line] = now;
  char stamp[32];
  time_t t = time(nullptr);
  tm utc{};
  gmtime_r(&t, &utc);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::string out = std::string(stamp) + " " + line + "\n";
  if (bytes_ + out.size() > kMaxBytes) {
    out = std::string(stamp) + " the network log is full (" + std::to_string(kMaxBytes >> 20) +
          " MiB): later attempts are not written\n";
    full_ = true;
  }
  fputs(out.c_str(), file_);
  fflush(file_);
  bytes_ += out.size();
}

}  // namespace banger::net
