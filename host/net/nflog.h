// The packets the kernel logs to an nflog group (an nftables rule's `log
// group N prefix P`), read over netfilter's netlink socket: each one's
// prefix and first bytes (its IP header and ports). Netlink's framing is
// checked on every message: a length that does not fit is the end of the
// buffer, never a read past it.
#pragma once

#include <string>
#include <vector>

namespace banger::net {

class NflogGroup {
 public:
  static constexpr unsigned kCopyBytes = 128;  // what the kernel copies of each packet
  // Binds the first group of `first` .. `first + tries - 1` no other socket
  // has (io error naming `what` if none is free, or netlink is refused).
  NflogGroup(int first, int tries, const std::string& what);
  ~NflogGroup();
  NflogGroup(const NflogGroup&) = delete;
  NflogGroup& operator=(const NflogGroup&) = delete;

  int fd() const { return fd_; }
  int group() const { return group_; }

  struct Packet {
    std::string prefix;
    std::string payload;  // from the IP header on, at most kCopyBytes
  };
  // The packets waiting now (never blocks).
  std::vector<Packet> read();

 private:
  bool bind_group(int group);
  int fd_ = -1;
  int group_ = -1;
};

}  // namespace banger::net
