// A connected loopback TCP pair for the flush benchmarks: `writer`
// non-blocking (as the server's sockets), buffers large enough that one
// flush is never short, and `drain` reading back what was sent.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "base/fd.h"
#include "net/socket.h"

namespace chatd {

struct TcpPair {
  UniqueFd listener, writer, reader;
  bool ok = false;
  TcpPair() {
    long l = listen_tcp("127.0.0.1", 0, 4);
    if (l < 0) return;
    listener.reset(int(l));
    long r = connect_tcp("127.0.0.1", uint16_t(local_port(int(l))));
    if (r < 0) return;
    reader.reset(int(r));
    long w = accept_nonblocking(int(l), nullptr);
    if (w < 0) return;
    writer.reset(int(w));
    set_nodelay(int(w));
    int big = 4 << 20;
    setsockopt(int(w), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(int(r), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    ok = true;
  }
  // Reads exactly n bytes (they are all in flight already).
  bool drain(size_t n, std::vector<char>& buf) {
    while (n > 0) {
      ssize_t got = recv(reader.get(), buf.data(), std::min(n, buf.size()), 0);
      if (got <= 0) return false;
      n -= size_t(got);
    }
    return true;
  }
};
}  // namespace chatd
