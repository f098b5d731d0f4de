// Fuzzes what a guest sends the user network and what comes back to it
// under an egress policy: each input is an Ethernet frame from the guest
// (GuestFilter::admit, its DNS queries answered or refused), then the same
// bytes as a frame to the guest (observe: a resolver's answer) and as bare
// DNS messages. Nothing may crash, and an answer banger makes must parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "host/core/error.h"
#include "host/net/dns_message.h"
#include "host/net/egress.h"
#include "host/net/guest_filter.h"

using namespace banger::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestFilter* filter = [] {
    auto* f = new GuestFilter(
        {5432}, {},
        parse_egress({"10.0.0.5:443", "api.test:8080", "*.example.com"}, {"pinned.test:10.0.0.7"}));
    f->set_host_addresses({0x0a000263});
    return f;
  }();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string reply;
  (void)filter->admit(bytes, reply);
  filter->observe(bytes);
  if (auto q = dns::parse_query(bytes)) {
    if (!dns::parse_response(dns::nxdomain(bytes, *q))) abort();
    if (!dns::parse_response(dns::pinned(bytes, *q, 0x0a000007, 60))) abort();
  }
  (void)dns::parse_response(bytes);
  return 0;
}
