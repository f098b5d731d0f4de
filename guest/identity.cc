// What a copy of a VM must not share with the others restored from one
// snapshot: the host sends it after every restore (proto::Identity).
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "guest/agent.h"
#include "proto/messages.h"

namespace banger::agent {

namespace {

// Mixes the host's bytes into the kernel's pool, credits them and reseeds
// the CRNG now, so the copies' next random bytes differ from each other.
std::string reseed(const std::string& entropy) {
  if (entropy.empty()) return {};
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return std::string("opening /dev/urandom: ") + strerror(errno);
  std::vector<char> buf(sizeof(rand_pool_info) + entropy.size());
  auto* info = reinterpret_cast<rand_pool_info*>(buf.data());
  info->entropy_count = static_cast<int>(entropy.size() * 8);
  info->buf_size = static_cast<int>(entropy.size());
  memcpy(info->buf, entropy.data(), entropy.size());
  std::string err;
  if (ioctl(fd, RNDADDENTROPY, info) != 0) err = std::string("RNDADDENTROPY: ") + strerror(errno);
#ifdef RNDRESEEDCRNG
  else if (ioctl(fd, RNDRESEEDCRNG) != 0 && errno != EINVAL)
    err = std::string("RNDRESEEDCRNG: ") + strerror(errno);
#endif
  close(fd);
  return err;
}

}  // namespace

IdentityResult apply_identity(const std::string& payload) {
  IdentityResult r;
  proto::Identity id = proto::Identity::decode(payload);
  if (id.unix_ns > 0) {
    timespec ts{static_cast<time_t>(id.unix_ns / 1000000000ull),
                static_cast<long>(id.unix_ns % 1000000000ull)};
    if (clock_settime(CLOCK_REALTIME, &ts) != 0)
      r.error = std::string("setting the clock: ") + strerror(errno);
  }
  std::string e = reseed(id.entropy);
  if (r.error.empty()) r.error = e;
  if (!id.hostname.empty() && sethostname(id.hostname.data(), id.hostname.size()) != 0 && r.error.empty())
    r.error = std::string("sethostname: ") + strerror(errno);
  if (!id.address.empty() || !id.mac.empty()) {
    e = renumber_network(id.address, id.gateway, id.mac);
    if (r.error.empty()) r.error = e;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  r.hostname = host;
  log("restored: clock set, RNG reseeded, hostname %s%s%s", host, id.address.empty() ? "" : ", address ",
      id.address.c_str());
  return r;
}

}  // namespace banger::agent
