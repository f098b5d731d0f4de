// Egress rules (host/net/egress.h) and the DNS messages the policy reads
// and writes (host/net/dns_message.h), with hostile bytes. The end-to-end
// test with a guest and real servers is "e2e egress: ...".
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <string>

#include "host/core/error.h"
#include "host/net/dns_message.h"
#include "host/net/egress.h"

using namespace banger;
using namespace banger::net;

namespace {

std::string error_of(const std::vector<std::string>& rules, const std::vector<std::string>& pins = {}) {
  try {
    parse_egress(rules, pins);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A query for `name` (type A), as a resolver in the guest sends it.
std::string query(const std::string& name, uint16_t id = 0x1234) {
  std::string m("\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  m[0] = static_cast<char>(id >> 8);
  m[1] = static_cast<char>(id);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    m += static_cast<char>(label.size());
    m += label;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  m += std::string("\x00\x00\x01\x00\x01", 5);
  return m;
}

}  // namespace

TEST_CASE("egress: rules parse as written, and a bad one is named with how to write it", "[net]") {
  EgressPolicy p =
      parse_egress({"10.0.0.5:443", "10.1.0.0/16", "10.2.0.9:53/udp", "API.Example.com:8080", "*.test"},
                   {"api.internal:10.0.0.7"});
  CHECK(p.mode == EgressPolicy::Mode::list);
  CHECK(p.describe() == "10.0.0.5:443, 10.1.0.0/16, 10.2.0.9:53/udp, API.Example.com:8080, *.test");
  uint32_t a5 = 0x0a000005, b = 0x0a01ff01, u = 0x0a020009;
  CHECK(p.match_address(a5, IPPROTO_TCP, 443) != nullptr);
  CHECK(p.match_address(a5, IPPROTO_TCP, 444) == nullptr);
  CHECK(p.match_address(a5, IPPROTO_UDP, 443) == nullptr);
  CHECK(p.match_address(b, IPPROTO_UDP, 9) != nullptr);  // no port: every port and protocol
  CHECK(p.match_address(b, IPPROTO_ICMP, 0) != nullptr);
  CHECK(p.match_address(u, IPPROTO_UDP, 53) != nullptr);
  CHECK(p.match_address(u, IPPROTO_TCP, 53) == nullptr);
  CHECK(p.match_name("api.example.com", IPPROTO_TCP, 8080) != nullptr);
  CHECK(p.match_name("api.example.com", IPPROTO_TCP, 80) == nullptr);
  CHECK(p.match_name("a.b.test") != nullptr);
  CHECK(p.match_name("test") == nullptr);  // *.test is the subdomains
  CHECK(p.hosts.at("api.internal") == 0x0a000007);
  CHECK(parse_egress({}).mode == EgressPolicy::Mode::all);
  CHECK(parse_egress({"none"}).describe() == "none");

  CHECK(error_of({"10.0.0.5:99999"}) ==
        "--egress '10.0.0.5:99999': the port must be 1 to 65535, got '99999'");
  CHECK(error_of({"10.0.0.0/33"}) == "--egress '10.0.0.0/33': the prefix length must be 0 to 32, got '33'");
  CHECK(error_of({"10.0.300.1"}) == "--egress '10.0.300.1': '10.0.300.1' is not an IPv4 address");
  CHECK(error_of({"bad_name!:80"}) ==
        "--egress 'bad_name!:80': 'bad_name!' is neither an IPv4 address nor a DNS name");
  CHECK(error_of({"none", "10.0.0.1"}) == "--egress 'none': 'none' stands alone, with no other rule");
  CHECK(error_of({}, {"nocolon"}) == "--add-host 'nocolon': write NAME:IPV4, e.g. api.internal:10.0.0.5");
}

TEST_CASE("egress dns: a query's question, banger's own answers, and hostile messages refused", "[net]") {
  std::string q = query("Api.Test");
  auto question = dns::parse_query(q);
  REQUIRE(question);
  CHECK(question->name == "api.test");
  CHECK(question->type == 1);
  CHECK(question->id == 0x1234);

  auto pinned = dns::parse_response(dns::pinned(q, *question, 0x0a000007, 60));
  REQUIRE(pinned);
  CHECK(pinned->question.name == "api.test");
  REQUIRE(pinned->addresses.size() == 1);
  CHECK(pinned->addresses[0].addr == 0x0a000007);
  CHECK(pinned->addresses[0].ttl == 60);
  std::string nx = dns::nxdomain(q, *question);
  CHECK((static_cast<uint8_t>(nx[3]) & 0x0f) == 3);
  CHECK(dns::parse_response(nx)->addresses.empty());
  CHECK_FALSE(dns::parse_query(nx));  // a response is no query

  // A pointer to itself, a pointer forwards, a label past the end, a
  // truncated header, two questions: no message.
  std::string loop = q.substr(0, 12) + std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  CHECK_FALSE(dns::parse_query(loop));
  std::string forward = q.substr(0, 12) + std::string("\xc0\x20\x00\x01\x00\x01", 6);
  CHECK_FALSE(dns::parse_query(forward));
  CHECK_FALSE(dns::parse_query(q.substr(0, 12) + std::string("\x3f"
                                                             "abc",
                                                             4)));
  CHECK_FALSE(dns::parse_query(q.substr(0, 7)));
  std::string two = q;
  two[5] = 2;
  CHECK_FALSE(dns::parse_query(two));
  // An answer whose record runs past the end.
  std::string cut = dns::pinned(q, *question, 0x0a000007, 60);
  CHECK_FALSE(dns::parse_response(cut.substr(0, cut.size() - 2)));
}
