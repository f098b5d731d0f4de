#include "host/net/nflog.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/core/error.h"

namespace banger::net {

namespace {

constexpr uint16_t kConfig = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
constexpr uint16_t kPacket = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;

void put_attr(std::string& msg, uint16_t type, const void* data, size_t len) {
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  msg.append(reinterpret_cast<const char*>(&a), sizeof a);
  msg.append(static_cast<const char*>(data), len);
  msg.append(NLA_ALIGN(len) - len, '\0');
}

// A config request for `group` carrying one attribute.
std::string config(int group, uint16_t type, const void* data, size_t len) {
  std::string msg(NLMSG_HDRLEN + sizeof(nfgenmsg), '\0');
  auto* g = reinterpret_cast<nfgenmsg*>(msg.data() + NLMSG_HDRLEN);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(static_cast<uint16_t>(group));
  put_attr(msg, type, data, len);
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  h->nlmsg_len = static_cast<uint32_t>(msg.size());
  h->nlmsg_type = kConfig;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  return msg;
}

// Sends a request and reads its acknowledgement: 0 or the error (positive).
int request(int fd, const std::string& msg) {
  if (send(fd, msg.data(), msg.size(), 0) < 0) return errno;
  alignas(nlmsghdr) char buf[1024];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    size_t len = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return EPROTO;
      return -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
    }
  }
}

}  // namespace

NflogGroup::NflogGroup(int first, int tries, const std::string& what) {
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd_ < 0) fail_errno("opening netfilter's netlink socket for " + what);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd_);
    fail_errno("binding netfilter's netlink socket for " + what);
  }
  for (int i = 0; i < tries && group_ < 0; ++i)
    if (bind_group(first + i)) group_ = first + i;
  if (group_ < 0) {
    close(fd_);
    fail(ErrorKind::io, "no free nflog group for " + what,
         "is another program binding nflog groups " + std::to_string(first) + " and up?");
  }
}

bool NflogGroup::bind_group(int group) {
  nfulnl_msg_config_cmd cmd{NFULNL_CFG_CMD_BIND};
  if (request(fd_, config(group, NFULA_CFG_CMD, &cmd, sizeof cmd)) != 0) return false;  // EBUSY: taken
  nfulnl_msg_config_mode mode{};
  mode.copy_range = htonl(kCopyBytes);
  mode.copy_mode = NFULNL_COPY_PACKET;
  // Each packet at once, not batched for up to a second.
  uint32_t one = htonl(1);
  if (request(fd_, config(group, NFULA_CFG_MODE, &mode, sizeof mode)) != 0 ||
      request(fd_, config(group, NFULA_CFG_QTHRESH, &one, sizeof one)) != 0) {
    nfulnl_msg_config_cmd unbind{NFULNL_CFG_CMD_UNBIND};
    request(fd_, config(group, NFULA_CFG_CMD, &unbind, sizeof unbind));
    return false;
  }
  return true;
}

NflogGroup::~NflogGroup() {
  if (fd_ < 0) return;
  nfulnl_msg_config_cmd unbind{NFULNL_CFG_CMD_UNBIND};
  request(fd_, config(group_, NFULA_CFG_CMD, &unbind, sizeof unbind));
  close(fd_);
}

std::vector<NflogGroup::Packet> NflogGroup::read() {
  std::vector<Packet> out;
  alignas(nlmsghdr) char buf[16384];
  for (int round = 0; round < 16; ++round) {
    ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;  // EAGAIN; ENOBUFS (the kernel dropped some lines)
    size_t len = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != kPacket || h->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) continue;
      const char* p = static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(nfgenmsg));
      const char* end = reinterpret_cast<const char*>(h) + h->nlmsg_len;
      Packet pkt;
      while (end - p >= static_cast<ptrdiff_t>(NLA_HDRLEN)) {
        nlattr a;
        std::memcpy(&a, p, sizeof a);
        if (a.nla_len < NLA_HDRLEN || a.nla_len > end - p) break;
        std::string value(p + NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
        uint16_t type = a.nla_type & NLA_TYPE_MASK;
        if (type == NFULA_PREFIX) pkt.prefix = value.substr(0, value.find('\0'));
        if (type == NFULA_PAYLOAD) pkt.payload = value.substr(0, kCopyBytes);
        p += NLA_ALIGN(a.nla_len);
      }
      out.push_back(std::move(pkt));
    }
  }
  return out;
}

}  // namespace banger::net
