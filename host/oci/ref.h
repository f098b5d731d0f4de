// Image references: docker-style registry refs with docker's defaults, and
// the local transports (an OCI layout directory, OCI and docker archives).
//
//   debian                      -> registry-1.docker.io/library/debian:latest
//   debian:bookworm             -> registry-1.docker.io/library/debian:bookworm
//   host:5000/a/b:tag           -> host:5000/a/b:tag
//   name@sha256:<64 hex>        -> pinned by digest (the tag, if any, is kept)
//   localhost/x                 -> localhost/x:latest
//   oci:DIR[:tag]               -> an OCI image layout on disk
//   oci-archive:FILE[:tag]      -> a tar of an OCI image layout
//   docker-archive:FILE         -> a `docker save` tarball
#pragma once

#include <string>
#include <string_view>

namespace banger::oci {

enum class Transport { registry, oci_layout, oci_archive, docker_archive };

std::string_view transport_name(Transport t);  // "docker", "oci", "oci-archive", "docker-archive"

// Docker Hub's API host; "docker.io" and "index.docker.io" normalise to it.
inline constexpr std::string_view kDockerHub = "registry-1.docker.io";

struct Ref {
  Transport transport = Transport::registry;
  // registry transport
  std::string registry;    // "registry-1.docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string repository;  // "library/debian"
  std::string tag;         // "latest"; empty when pinned by digest alone
  std::string digest;      // "sha256:<hex>" or empty
  // local transports
  std::string path;  // the directory or archive file

  // The canonical form; parse_ref(r.to_string()) == r.
  std::string to_string() const;
  // What goes after /manifests/: the digest if pinned, else the tag.
  const std::string& reference() const { return digest.empty() ? tag : digest; }

  bool operator==(const Ref&) const = default;
};

// Throws invalid_input naming the ref and what is wrong with it.
Ref parse_ref(std::string_view text);

// True for 127.0.0.0/8, localhost and ::1, with or without a port.
bool is_loopback_host(std::string_view registry);

}  // namespace banger::oci
