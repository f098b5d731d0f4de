#include "tests/support/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "host/core/fs.h"

namespace banger::test {

namespace {

// bcrypt of "s3cret" (docker-registry's htpasswd wants bcrypt).
constexpr const char* kHtpasswd = "banger:$2b$05$LD9qqOQTPKLn8t4vViPeZ.z94syV7ciJs54ouRIxXipCqWxrG1jEC\n";

std::string b64(std::string_view in, bool url) {
  const char* tbl = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (unsigned char c : in) {
    v = (v << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += tbl[(v >> bits) & 63];
    }
  }
  if (bits > 0) out += tbl[(v << (6 - bits)) & 63];
  if (!url)
    while (out.size() % 4) out += '=';
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::strtol(std::string(s.substr(i + 1, 2)).c_str(), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool can_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string run_or_throw(const std::vector<std::string>& argv, const std::string& input = {}) {
  RunResult r = run_capture(argv, input);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (exit " + std::to_string(r.exit_code) + "): " + cmd + "\n" +
                             r.err);
  }
  return r.out;
}

}  // namespace

void require_tool(const std::string& tool, const std::string& package) {
  if (!find_executable(tool))
    throw std::runtime_error(tool + " is not installed; this test needs it: apt-get install " + package +
                             " (scripts/install-deps.sh)");
}

// ---- TinyHttpServer ----

void HttpConn::send(std::string_view raw) {
  while (fd_ >= 0 && !raw.empty()) {
    ssize_t n = ::send(fd_, raw.data(), raw.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    raw.remove_prefix(static_cast<size_t>(n));
  }
}

void HttpConn::respond(int status, const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string r =
      "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  r += "\r\n";
  r += body;
  send(r);
}

void HttpConn::close() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
  }
  fd_ = -1;
}

HttpConn::~HttpConn() { close(); }

TinyHttpServer::TinyHttpServer(Handler handler, const std::string& address)
    : handler_(std::move(handler)), address_(address) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1 || (ntohl(a.sin_addr.s_addr) >> 24) != 127)
    throw std::runtime_error("TinyHttpServer: " + address + " is not a loopback address");
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("TinyHttpServer: cannot listen on " + address);
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  accept_thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      conns_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

TinyHttpServer::~TinyHttpServer() {
  stop_ = true;
  accept_thread_.join();
  std::lock_guard lock(mu_);
  for (auto& t : conns_) t.join();
  ::close(listen_fd_);
}

void TinyHttpServer::serve(int fd) {
  HttpConn conn(fd);
  std::string buf;
  while (!stop_ && !conn.closed()) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 50);
      if (stop_) return;
      if (r <= 0) continue;
      char tmp[4096];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return;
      buf.append(tmp, static_cast<size_t>(n));
    }
    HttpRequest req;
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string k = line.substr(0, colon);
        for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') v++;
        req.headers[k] = line.substr(v);
      }
      pos = e + 2;
    }
    requests_++;
    handler_(req, conn);
  }
}

// ---- Registry ----

Registry::Registry(RegistryOptions options) : options_(options) {
  require_tool("docker-registry", "docker-registry");
  require_tool("skopeo", "skopeo");
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/banger-registry-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = free_port();
  bool need_cert = options_.tls || options_.auth == RegistryOptions::Auth::token;
  if (need_cert) {
    require_tool("openssl", "openssl");
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    run_or_throw({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key_, "-out", cert_,
                  "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                  "subjectAltName=IP:127.0.0.1,DNS:localhost"});
    std::string der = run_or_throw({"openssl", "x509", "-in", cert_, "-outform", "DER"});
    cert_der_b64_ = b64(der, false);
  }
  std::string yml =
      "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
      "storage:\n  filesystem:\n    rootdirectory: " +
      dir_ +
      "/data\n  delete:\n    enabled: true\n"
      "http:\n  addr: 127.0.0.1:" +
      std::to_string(port_) + "\n  secret: banger-test\n";
  if (options_.tls) yml += "  tls:\n    certificate: " + cert_ + "\n    key: " + key_ + "\n";
  if (options_.auth == RegistryOptions::Auth::basic) {
    fs::write_file(dir_ + "/htpasswd", kHtpasswd);
    yml += "auth:\n  htpasswd:\n    realm: banger-test\n    path: " + dir_ + "/htpasswd\n";
  }
  if (options_.auth == RegistryOptions::Auth::token) {
    token_server_ = std::make_unique<TinyHttpServer>([this](const HttpRequest& req, HttpConn& conn) {
      std::string want = "Basic " + b64(std::string(kUser) + ":" + kPassword, false);
      auto it = req.headers.find("authorization");
      if (req.path != "/token") {
        conn.respond(404, "{}", {{"Content-Type", "application/json"}});
        return;
      }
      if (it == req.headers.end() || it->second != want) {
        conn.respond(401, "{\"details\":\"incorrect username or password\"}",
                     {{"Content-Type", "application/json"}});
        return;
      }
      std::string token = make_token(req.query);
      conn.respond(200,
                   "{\"token\":\"" + token + "\",\"access_token\":\"" + token + "\",\"expires_in\":3600}",
                   {{"Content-Type", "application/json"}});
    });
    yml += "auth:\n  token:\n    realm: http://" + token_server_->host() +
           "/token\n    service: banger-test-registry\n    issuer: banger-test-issuer\n    rootcertbundle: " +
           cert_ + "\n";
  }
  fs::write_file(dir_ + "/config.yml", yml);
  int log_fd = ::open((dir_ + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SpawnOptions so;
  so.argv = {"docker-registry", "serve", dir_ + "/config.yml"};
  so.stdout_fd = log_fd;
  so.stderr_fd = log_fd;
  so.new_session = true;
  process_ = Process::spawn(so);
  ::close(log_fd);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!can_connect(port_)) {
    if (!process_.running()) throw std::runtime_error("docker-registry exited at start:\n" + log());
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error("docker-registry did not listen on port " + std::to_string(port_) + ":\n" +
                               log());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Registry::~Registry() {
  if (process_.running()) {
    process_.signal(SIGTERM);
    if (!process_.wait_for(std::chrono::seconds(5))) process_.signal(SIGKILL);
    process_.wait();
  }
  token_server_.reset();
  fs::remove_all(dir_);
}

std::string Registry::log() const {
  try {
    return fs::read_file(dir_ + "/registry.log");
  } catch (...) {
    return {};
  }
}

std::string Registry::write_docker_config(const std::string& dir, const std::string& user,
                                          const std::string& password) const {
  nlohmann::json doc = {{"auths", {{host(), {{"auth", b64(user + ":" + password, false)}}}}}};
  fs::make_dirs(dir, 0700);
  fs::write_file(dir + "/config.json", doc.dump(2));
  return dir + "/config.json";
}

void Registry::push(const std::string& src, const std::string& dest,
                    const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {"skopeo",  "--insecure-policy",       "copy",
                                   "--quiet", "--dest-tls-verify=false", "--preserve-digests"};
  if (options_.auth != RegistryOptions::Auth::none)
    argv.push_back("--dest-creds=" + std::string(kUser) + ":" + kPassword);
  for (const auto& e : extra) argv.push_back(e);
  argv.push_back(src);
  argv.push_back("docker://" + host() + "/" + dest);
  run_or_throw(argv);
}

std::string Registry::make_token(const std::string& query) const {
  nlohmann::json access = nlohmann::json::array();
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (kv.rfind("scope=", 0) == 0) {
      std::string scope = url_decode(kv.substr(6));
      size_t a = scope.find(':'), b = scope.rfind(':');
      if (a != std::string::npos && b > a) {
        nlohmann::json actions = nlohmann::json::array();
        std::string acts = scope.substr(b + 1);
        for (size_t p = 0; p <= acts.size();) {
          size_t c = acts.find(',', p);
          actions.push_back(acts.substr(p, c == std::string::npos ? std::string::npos : c - p));
          if (c == std::string::npos) break;
          p = c + 1;
        }
        access.push_back(
            {{"type", scope.substr(0, a)}, {"name", scope.substr(a + 1, b - a - 1)}, {"actions", actions}});
      }
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  long now = static_cast<long>(std::time(nullptr));
  nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {cert_der_b64_}}};
  nlohmann::json claims = {{"iss", "banger-test-issuer"},
                           {"sub", kUser},
                           {"aud", "banger-test-registry"},
                           {"exp", now + 3600},
                           {"nbf", now - 60},
                           {"iat", now},
                           {"jti", std::to_string(now) + "-" + std::to_string(std::rand())},
                           {"access", access}};
  std::string signing_input = b64(header.dump(), true) + "." + b64(claims.dump(), true);
  std::string sig = run_or_throw({"openssl", "dgst", "-sha256", "-sign", key_}, signing_input);
  return signing_input + "." + b64(sig, true);
}

}  // namespace banger::test
