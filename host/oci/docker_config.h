// Registry credentials from docker's config.json (`docker login` writes it):
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json; the "auths" map
// with a base64 "user:password" `auth` (or `username`/`password`) per host.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace banger::oci {

struct Credentials {
  std::string username;
  std::string password;
  std::string source;  // the config.json path, for error messages
};

// The config.json path: `override` if not empty, else $DOCKER_CONFIG/config.json,
// else $HOME/.docker/config.json.
std::string docker_config_path(const std::string& override_path);

// Credentials for `registry` ("host:port"); nothing if the file or the entry
// is absent. A malformed file is an invalid_input error naming it. Keys may
// be written as "host", "https://host" or "https://host/v1/"; Docker Hub
// matches "docker.io", "index.docker.io" and "https://index.docker.io/v1/".
std::optional<Credentials> find_credentials(const std::string& config_path, std::string_view registry);

std::string base64_encode(std::string_view in);
// Throws invalid_input on bad input.
std::string base64_decode(std::string_view in);

}  // namespace banger::oci
