// Fuzzes what a guest sends the host: the frame decoder, fed the input in
// pieces whose sizes the input picks, and every message decoder on each
// frame's payload. A decoder may refuse (ProtocolError); it must not crash,
// read out of bounds or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/messages.h"
#include "proto/wire.h"

using namespace banger::proto;

namespace {

template <typename Message>
void decode_as(std::string_view payload) {
  try {
    (void)Message::decode(payload);
  } catch (const ProtocolError&) {
  }
}

void decode_all(std::string_view p) {
  decode_as<Hello>(p);
  decode_as<Ready>(p);
  decode_as<Exec>(p);
  decode_as<ExecStarted>(p);
  decode_as<Exit>(p);
  decode_as<Signal>(p);
  decode_as<WindowSize>(p);
  decode_as<Failure>(p);
  decode_as<Poweroff>(p);
  decode_as<Identity>(p);
  decode_as<FilePut>(p);
  decode_as<FileGet>(p);
  decode_as<FileInfo>(p);
  decode_as<Credit>(p);
  decode_as<Ports>(p);
  decode_as<Stats>(p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte picks the piece size, as a reader would see a stream.
  size_t piece = in.empty() ? 1 : 1 + static_cast<uint8_t>(in[0]);
  Decoder d;
  try {
    for (size_t at = 0; at < in.size(); at += piece) {
      d.feed(in.substr(at, piece));
      while (auto f = d.next()) decode_all(f->payload);
    }
  } catch (const ProtocolError&) {
  }
  // Every payload on its own, too: most of the input never forms a frame.
  decode_all(in);
  return 0;
}
