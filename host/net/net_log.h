// A VM's network log (`vm logs --net`): one line per decision of its egress
// policy, with the rule or reason that decided. The same attempt repeated
// within a second is written once (a UDP flow is checked per datagram), and
// the file stops growing at kMaxBytes with a line that says so.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "host/net/guest_filter.h"

namespace banger::net {

class NetLog {
 public:
  static constexpr size_t kMaxBytes = 8 << 20;
  // Appends to `path` (made 0600); an empty path logs nothing.
  explicit NetLog(const std::string& path);
  ~NetLog();
  NetLog(const NetLog&) = delete;
  NetLog& operator=(const NetLog&) = delete;

  void write(const EgressAttempt& a);

  // "tcp 10.0.0.5:8080 allowed (rule 10.0.0.5:8080)", without the time.
  static std::string format(const EgressAttempt& a);

 private:
  FILE* file_ = nullptr;
  size_t bytes_ = 0;
  bool full_ = false;
  std::map<std::string, int64_t> recent_;  // line -> when it was last written (ms)
};

}  // namespace banger::net
