// Byte relays between two stream sockets: what a port forward does once a
// connection is made on both sides. Used by the tap-mode port proxy and by
// the `__connect` helper that user networking runs for an allowed host port.
#pragma once

#include <chrono>
#include <string>

namespace banger::net {

// Copies bytes both ways between `a` and `b` until both directions have
// ended: EOF on one side half-closes the other (shutdown SHUT_WR), so
// request/response protocols that close their sending side still work.
// Returns early when `stop_fd` (if >= 0) becomes readable or a side fails.
// Does not close `a` or `b`.
void relay(int a, int b, int stop_fd = -1);

// A connected TCP socket to HOST:PORT (an IPv4 address), within `timeout`.
// Throws a network error naming the address when it cannot connect.
int tcp_connect(const std::string& host, int port, std::chrono::milliseconds timeout);

// A listening TCP socket on HOST:PORT (IPv4 address). Throws a conflict error
// naming the address when the port is taken.
int tcp_listen(const std::string& host, int port);

// `banger __connect HOST PORT`: relays the socket on fd 0 (what libslirp
// hands a forwarded guest connection) to HOST:PORT. Prints nothing: fds 1
// and 2 are the guest's connection too. Returns the exit status.
int connect_stdio(const std::string& host, int port);

}  // namespace banger::net
