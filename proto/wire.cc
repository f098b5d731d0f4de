#include "proto/wire.h"

#include <cstring>

namespace banger::proto {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

const char* type_name(Type t) {
  switch (t) {
    case Type::hello:
      return "hello";
    case Type::ready:
      return "ready";
    case Type::ping:
      return "ping";
    case Type::pong:
      return "pong";
    case Type::error:
      return "error";
    case Type::poweroff:
      return "poweroff";
    case Type::identity:
      return "identity";
    case Type::exec:
      return "exec";
    case Type::exec_started:
      return "exec_started";
    case Type::stdin_data:
      return "stdin_data";
    case Type::stdin_eof:
      return "stdin_eof";
    case Type::stdout_data:
      return "stdout_data";
    case Type::stderr_data:
      return "stderr_data";
    case Type::exit:
      return "exit";
    case Type::signal:
      return "signal";
    case Type::window_size:
      return "window_size";
    case Type::file_put:
      return "file_put";
    case Type::file_get:
      return "file_get";
    case Type::file_data:
      return "file_data";
    case Type::file_end:
      return "file_end";
    case Type::file_info:
      return "file_info";
    case Type::ports_request:
      return "ports_request";
    case Type::ports:
      return "ports";
    case Type::stats_request:
      return "stats_request";
    case Type::stats:
      return "stats";
    case Type::credit:
      return "credit";
  }
  return "unknown";
}

std::string encode_frame(Type type, uint32_t id, std::string_view payload, uint32_t cap) {
  if (payload.size() > cap)
    throw ProtocolError("frame too large: " + std::to_string(payload.size()) + " bytes (limit " +
                        std::to_string(cap) + ")");
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  out.append(kMagic, 4);
  out.push_back(static_cast<char>(kWireVersion));
  out.push_back(static_cast<char>(type));
  out.push_back(0);
  out.push_back(0);
  put_u32(out, id);
  put_u32(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

void Decoder::feed(const char* data, size_t n) {
  if (!failed_.empty()) throw ProtocolError(failed_);
  // Drop what has been consumed before growing the buffer.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ > 64 * 1024)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
}

std::optional<Frame> Decoder::next() {
  if (!failed_.empty()) throw ProtocolError(failed_);
  if (buffered() < kHeaderSize) return std::nullopt;
  const char* h = buf_.data() + pos_;
  if (std::memcmp(h, kMagic, 4) != 0) {
    failed_ = "bad frame magic (the stream is not the banger agent protocol, or out of sync)";
    throw ProtocolError(failed_);
  }
  uint8_t version = static_cast<uint8_t>(h[4]);
  if (version != kWireVersion) {
    failed_ = "unsupported wire version " + std::to_string(version) + " (this side speaks " +
              std::to_string(kWireVersion) + ")";
    throw ProtocolError(failed_);
  }
  uint32_t len = get_u32(h + 12);
  if (len > cap_) {
    failed_ = "frame too large: " + std::to_string(len) + " bytes (limit " + std::to_string(cap_) + ")";
    throw ProtocolError(failed_);
  }
  if (buffered() < kHeaderSize + len) return std::nullopt;
  Frame f;
  f.type = static_cast<Type>(static_cast<uint8_t>(h[5]));
  f.id = get_u32(h + 8);
  f.payload.assign(h + kHeaderSize, len);
  pos_ += kHeaderSize + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return f;
}

}  // namespace banger::proto
