// The few DNS messages (RFC 1035) an egress policy reads and writes: the
// question of a guest's query, the A records of the answer it gets, and the
// answers banger gives itself (NXDOMAIN, or a pinned address). Every byte
// comes from an untrusted guest or resolver: each read is bounded, name
// compression pointers may only point backwards, and anything malformed
// is "no message" (the caller refuses it), never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::net::dns {

struct Question {
  uint16_t id = 0;
  std::string name;   // lower case, no trailing dot
  uint16_t type = 0;  // 1: A, 28: AAAA, ...
  size_t end = 0;     // where the question ends in the message
};

// The first question of a query (QR=0, one question); nullopt when `msg` is
// not one.
std::optional<Question> parse_query(std::string_view msg);

struct Address {
  uint32_t addr;  // host byte order
  uint32_t ttl;
};

struct Answer {
  Question question;
  std::vector<Address> addresses;  // the A records, whatever name they are for (CNAME chains)
};

// A response (QR=1) with its question and A records; nullopt when malformed.
std::optional<Answer> parse_response(std::string_view msg);

// The response to `query` (parse_query's message) that says the name does
// not exist (RCODE 3), with the question echoed.
std::string nxdomain(std::string_view query, const Question& q);

// The response to `query` with one A record `addr` (host byte order) for
// its name, or none for another type (an empty NOERROR answer).
std::string pinned(std::string_view query, const Question& q, uint32_t addr, uint32_t ttl);

}  // namespace banger::net::dns
