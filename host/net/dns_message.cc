#include "host/net/dns_message.h"

#include <cctype>

namespace banger::net::dns {

namespace {

constexpr size_t kHeader = 12;
constexpr uint16_t kTypeA = 1, kClassIn = 1;

uint16_t get16(std::string_view m, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(m[at]) << 8 | static_cast<uint8_t>(m[at + 1]));
}
uint32_t get32(std::string_view m, size_t at) {
  return static_cast<uint32_t>(get16(m, at)) << 16 | get16(m, at + 2);
}
void put16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v);
}

// Reads the name at `at`; sets `next` to the byte after it where it sits
// (after its first pointer, if compressed). Pointers must point strictly
// backwards, so a loop cannot be made, and past the header; a query's
// question may have none (banger echoes it under a header of its own).
// The name stays under 255 bytes.
bool read_name(std::string_view m, size_t at, std::string& out, size_t& next, bool pointers = true) {
  out.clear();
  bool jumped = false;
  size_t pos = at;
  for (int labels = 0; labels < 128; labels++) {
    if (pos >= m.size()) return false;
    uint8_t len = static_cast<uint8_t>(m[pos]);
    if (len == 0) {
      if (!jumped) next = pos + 1;
      return true;
    }
    if ((len & 0xc0) == 0xc0) {
      if (!pointers || pos + 1 >= m.size()) return false;
      size_t target = static_cast<size_t>(len & 0x3f) << 8 | static_cast<uint8_t>(m[pos + 1]);
      if (target >= pos || target < kHeader) return false;
      if (!jumped) next = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0 || pos + 1 + len > m.size()) return false;
    if (!out.empty()) out += '.';
    for (size_t i = 0; i < len; i++)
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(m[pos + 1 + i])));
    if (out.size() > 253) return false;
    pos += 1 + len;
  }
  return false;
}

std::optional<Question> read_question(std::string_view m, bool pointers) {
  if (m.size() < kHeader || get16(m, 4) != 1) return std::nullopt;
  Question q;
  q.id = get16(m, 0);
  size_t next = 0;
  if (!read_name(m, kHeader, q.name, next, pointers) || next + 4 > m.size()) return std::nullopt;
  q.type = get16(m, next);
  q.end = next + 4;
  return q;
}

// A response header for `query`: the id, RD copied, QR and RA set.
std::string response_head(std::string_view query, const Question& q, uint16_t rcode, uint16_t answers) {
  std::string out(query.substr(0, q.end));
  uint16_t rd = get16(query, 2) & 0x0100;
  put16(out, 2, static_cast<uint16_t>(0x8000 | 0x0080 | rd | rcode));
  put16(out, 4, 1);
  put16(out, 6, answers);
  put16(out, 8, 0);
  put16(out, 10, 0);
  return out;
}

}  // namespace

std::optional<Question> parse_query(std::string_view msg) {
  if (msg.size() < kHeader || (get16(msg, 2) & 0x8000) != 0) return std::nullopt;
  return read_question(msg, false);
}

std::optional<Answer> parse_response(std::string_view msg) {
  if (msg.size() < kHeader || (get16(msg, 2) & 0x8000) == 0) return std::nullopt;
  auto q = read_question(msg, true);
  if (!q) return std::nullopt;
  Answer a;
  a.question = *q;
  size_t pos = q->end;
  uint16_t count = get16(msg, 6);
  std::string owner;
  for (uint16_t i = 0; i < count; i++) {
    size_t next = 0;
    if (!read_name(msg, pos, owner, next) || next + 10 > msg.size()) return std::nullopt;
    uint16_t type = get16(msg, next), cls = get16(msg, next + 2);
    uint32_t ttl = get32(msg, next + 4);
    uint16_t len = get16(msg, next + 8);
    size_t data = next + 10;
    if (data + len > msg.size()) return std::nullopt;
    if (type == kTypeA && cls == kClassIn && len == 4) a.addresses.push_back({get32(msg, data), ttl});
    pos = data + len;
  }
  return a;
}

std::string nxdomain(std::string_view query, const Question& q) { return response_head(query, q, 3, 0); }

std::string pinned(std::string_view query, const Question& q, uint32_t addr, uint32_t ttl) {
  if (q.type != kTypeA) return response_head(query, q, 0, 0);
  std::string out = response_head(query, q, 0, 1);
  size_t at = out.size();
  out.resize(at + 16);
  put16(out, at, 0xc000 | kHeader);  // the question's name
  put16(out, at + 2, kTypeA);
  put16(out, at + 4, kClassIn);
  put16(out, at + 6, static_cast<uint16_t>(ttl >> 16));
  put16(out, at + 8, static_cast<uint16_t>(ttl));
  put16(out, at + 10, 4);
  put16(out, at + 12, static_cast<uint16_t>(addr >> 16));
  put16(out, at + 14, static_cast<uint16_t>(addr));
  return out;
}

}  // namespace banger::net::dns
