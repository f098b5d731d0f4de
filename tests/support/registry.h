// Test registries on loopback: Debian's real docker-registry (distribution
// v2) started on a free 127.0.0.1 port with its own config, optionally with
// basic auth (htpasswd), token auth (a token server in this process that
// signs JWTs with a throwaway key) and TLS; and TinyHttpServer, a real socket
// peer for the failures docker-registry cannot produce on demand (429, 500,
// truncated bodies, Retry-After).
//
//   banger::test::Registry reg;                      // anonymous, plain HTTP
//   reg.push("oci:" + layout + ":v1", "demo:v1");    // skopeo copy into it
//   pull(reg.host() + "/demo:v1", ...);
//
// A missing docker-registry / skopeo / openssl is a hard failure (tests
// never skip): install them with scripts/install-deps.sh.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "host/core/process.h"

namespace banger::test {

// Throws std::runtime_error naming the Debian package if `tool` is not on PATH.
void require_tool(const std::string& tool, const std::string& package);

struct HttpRequest {
  std::string method;
  std::string target;                          // "/v2/a/manifests/t?x=1"
  std::string path;                            // "/v2/a/manifests/t"
  std::string query;                           // "x=1"
  std::map<std::string, std::string> headers;  // lowercase names
};

// The connection a handler answers on.
class HttpConn {
 public:
  explicit HttpConn(int fd) : fd_(fd) {}
  // Raw bytes (for truncated or malformed answers).
  void send(std::string_view raw);
  // A complete answer with Content-Length.
  void respond(int status, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Ends the connection now (after a partial body: a truncated response).
  void close();
  bool closed() const { return fd_ < 0; }
  ~HttpConn();

 private:
  int fd_;
};

class TinyHttpServer {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpConn&)>;
  // Listens on 127.0.0.1 (a free port); each connection on its own thread,
  // keep-alive until the handler closes it.
  explicit TinyHttpServer(Handler handler, const std::string& address = "127.0.0.1");
  ~TinyHttpServer();
  int port() const { return port_; }
  // "ADDRESS:PORT". Another loopback address (127.0.0.2) is another host to
  // a client: what a hostile registry's "foreign" realm or redirect uses.
  std::string host() const { return address_ + ":" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  void serve(int fd);
  Handler handler_;
  std::string address_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread accept_thread_;
  std::vector<std::thread> conns_;
  std::mutex mu_;
};

struct RegistryOptions {
  enum class Auth { none, basic, token };
  Auth auth = Auth::none;
  bool tls = false;  // serve HTTPS with a self-signed cert for 127.0.0.1 (see ca_file())
};

class Registry {
 public:
  static constexpr const char* kUser = "banger";
  static constexpr const char* kPassword = "s3cret";

  explicit Registry(RegistryOptions options = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // The self-signed certificate (TLS and token signing); empty without either.
  std::string ca_file() const { return cert_; }
  // Writes DIR/config.json with docker-style credentials for this registry;
  // returns the config.json path.
  std::string write_docker_config(const std::string& dir, const std::string& user = kUser,
                                  const std::string& password = kPassword) const;
  // skopeo copy SRC docker://HOST/DEST (credentials and TLS handled).
  void push(const std::string& src, const std::string& dest,
            const std::vector<std::string>& extra = {}) const;
  // The registry's log so far (requests are logged).
  std::string log() const;
  // Token requests served (token auth only).
  int token_requests() const { return token_server_ ? token_server_->requests() : 0; }

 private:
  std::string make_token(const std::string& scope_query) const;
  RegistryOptions options_;
  std::string dir_;
  std::string cert_, key_, cert_der_b64_;
  int port_ = 0;
  std::unique_ptr<TinyHttpServer> token_server_;
  Process process_;
};

}  // namespace banger::test
