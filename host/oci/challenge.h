// A registry's WWW-Authenticate challenge, as it sends it (untrusted):
// `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"`.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace banger::oci {

struct Challenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lowercase, values unquoted
};

// Never fails: what does not parse is left out (a scheme without params, a
// param without '=').
Challenge parse_challenge(std::string_view header);

}  // namespace banger::oci
