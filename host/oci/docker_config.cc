#include "host/oci/docker_config.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <spdlog/spdlog.h>

#include "host/core/error.h"
#include "host/oci/ref.h"

namespace banger::oci {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// "https://index.docker.io/v1/" -> "index.docker.io"
std::string normalize_key(std::string_view key) {
  size_t scheme = key.find("://");
  if (scheme != std::string_view::npos) key.remove_prefix(scheme + 3);
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) key = key.substr(0, slash);
  std::string out(key);
  if (out == "docker.io" || out == "index.docker.io") out = std::string(kDockerHub);
  return out;
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    const char* p = std::strchr(kB64, c);
    if (!p || !c) fail(ErrorKind::invalid_input, "invalid base64 text", "");
    v = v << 6 | static_cast<unsigned>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xff);
    }
  }
  return out;
}

std::string docker_config_path(const std::string& override_path) {
  if (!override_path.empty()) return override_path;
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) return std::string(dir) + "/config.json";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.docker/config.json";
  return {};
}

std::optional<Credentials> find_credentials(const std::string& config_path, std::string_view registry) {
  if (config_path.empty()) return std::nullopt;
  std::ifstream in(config_path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = nlohmann::json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    fail(ErrorKind::invalid_input, "reading " + config_path + ": not valid JSON",
         "fix or remove the docker config file (docker login rewrites it)");
  auto auths = doc.find("auths");
  std::string want = normalize_key(registry);
  if (auths != doc.end() && auths->is_object()) {
    for (const auto& [key, entry] : auths->items()) {
      if (normalize_key(key) != want || !entry.is_object()) continue;
      Credentials c;
      c.source = config_path;
      if (entry.contains("auth") && entry["auth"].is_string() && !entry["auth"].get<std::string>().empty()) {
        std::string decoded;
        try {
          decoded = base64_decode(entry["auth"].get<std::string>());
        } catch (const Error&) {
          fail(ErrorKind::invalid_input,
               "reading " + config_path + ": auths." + key + ".auth is not valid base64",
               "run `docker login " + want + "` again");
        }
        size_t colon = decoded.find(':');
        if (colon == std::string::npos)
          fail(ErrorKind::invalid_input,
               "reading " + config_path + ": auths." + key + ".auth is not user:password",
               "run `docker login " + want + "` again");
        c.username = decoded.substr(0, colon);
        c.password = decoded.substr(colon + 1);
        return c;
      }
      if (entry.contains("username") && entry["username"].is_string() && entry.contains("password") &&
          entry["password"].is_string()) {
        c.username = entry["username"].get<std::string>();
        c.password = entry["password"].get<std::string>();
        return c;
      }
    }
  }
  if (doc.contains("credsStore") || doc.contains("credHelpers"))
    spdlog::debug("{}: credential helpers are not supported; using anonymous access to {}", config_path,
                  want);
  return std::nullopt;
}

}  // namespace banger::oci
