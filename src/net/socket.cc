#include "net/socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/fd.h"
#include "base/sys.h"

namespace chatd {

// Parses a numeric IPv4 or IPv6 host (IPv6 optionally in brackets) into
// `addr`; returns its length, or 0 if `host` is not an address literal.
static socklen_t parse_host(const char* host, uint16_t port, sockaddr_storage& addr) {
  std::memset(&addr, 0, sizeof addr);
  if (!host || !*host) return 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return sizeof *v4;
  }
  char text[64];
  size_t len = std::strlen(host);
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    if (len - 2 >= sizeof text) return 0;
    std::memcpy(text, host + 1, len - 2);
    text[len - 2] = '\0';
    host = text;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof *v6;
  }
  return 0;
}

static long set_int_option(int fd, int level, int name, int value) {
  return sys_result(setsockopt(fd, level, name, &value, sizeof value));
}

// Host names are resolved only if they look like one (letters, digits, '-'
// and '.', with at least one letter): anything else that is not an address
// literal ("256.1.1.1", "[::1", "a b") is rejected without asking DNS.
static bool looks_like_name(const char* host) {
  bool letter = false;
  for (const char* p = host; *p; ++p) {
    char c = *p;
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && !(c >= '0' && c <= '9') && c != '-' && c != '.') return false;
    letter |= alpha;
  }
  return letter && host[0] != '-' && host[0] != '.';
}

// Opens a socket for `addr` and binds+listens (passive) or connects;
// returns the fd or -errno.
static long open_one(const sockaddr* addr, socklen_t len, bool passive, int backlog,
                     bool reuse_port) {
  int type = SOCK_STREAM | SOCK_CLOEXEC | (passive ? SOCK_NONBLOCK : 0);
  long r = sys_result(socket(addr->sa_family, type, 0));
  if (r < 0) return r;
  UniqueFd fd(static_cast<int>(r));
  if (!passive) {
    // A blocking connect interrupted by a signal keeps connecting in the
    // background; retrying would give EALREADY, so report EINTR as is.
    if ((r = sys_result(connect(fd.get(), addr, len))) < 0) return r;
    return fd.release();
  }
  // Without SO_REUSEADDR a restart fails for a minute while old connections
  // sit in TIME_WAIT.
  if ((r = set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1)) < 0) return r;
  // Several processes bound with SO_REUSEPORT share the port; the kernel
  // spreads new connections over their listeners by a hash of the 4-tuple.
  if (reuse_port && (r = set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1)) < 0) return r;
  if (addr->sa_family == AF_INET6) {
    // Pin dual-stack explicitly rather than inherit net.ipv6.bindv6only.
    if ((r = set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0)) < 0) return r;
  }
  if ((r = sys_result(bind(fd.get(), addr, len))) < 0) return r;
  if ((r = sys_result(listen(fd.get(), backlog))) < 0) return r;
  return fd.release();
}

// Literal first (no resolver involved), else a name through getaddrinfo,
// trying each address in turn; returns the first fd or the last -errno.
static long open_tcp(const char* host, uint16_t port, bool passive, int backlog, bool reuse_port) {
  sockaddr_storage addr;
  socklen_t len = parse_host(host, port, addr);
  if (len != 0)
    return open_one(reinterpret_cast<sockaddr*>(&addr), len, passive, backlog, reuse_port);
  if (!host || !looks_like_name(host)) return -EINVAL;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  char service[8];
  std::snprintf(service, sizeof service, "%u", unsigned{port});
  addrinfo* list = nullptr;
  if (getaddrinfo(host, service, &hints, &list) != 0) return -EINVAL;
  long r = -EINVAL;
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    r = open_one(ai->ai_addr, ai->ai_addrlen, passive, backlog, reuse_port);
    if (r >= 0) break;
  }
  freeaddrinfo(list);
  return r;
}

long listen_tcp(const char* host, uint16_t port, int backlog, bool reuse_port) {
  return open_tcp(host, port, true, backlog, reuse_port);
}

long connect_tcp(const char* host, uint16_t port) {
  return open_tcp(host, port, false, 0, false);
}

long local_port(int fd) {
  sockaddr_storage addr;
  socklen_t len = sizeof addr;
  long r = sys_result(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len));
  if (r < 0) return r;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return -EAFNOSUPPORT;
}

long accept_nonblocking(int listen_fd, sockaddr_storage* peer) {
  long r;
  do {
    socklen_t len = sizeof(sockaddr_storage);
    r = sys_result(accept4(listen_fd, reinterpret_cast<sockaddr*>(peer), peer ? &len : nullptr,
                           SOCK_NONBLOCK | SOCK_CLOEXEC));
  } while (r == -EINTR || r == -ECONNABORTED);
  return r;
}

long read_some(int fd, void* buf, size_t n) {
  return sys_retry([&] { return read(fd, buf, n); });
}

long writev_some(int fd, const iovec* iov, int cnt) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(cnt);
  return sys_retry([&] { return sendmsg(fd, &msg, MSG_NOSIGNAL); });
}

void set_nodelay(int fd) {
  // Fails only on a non-TCP fd, where there is nothing to turn off.
  (void)set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

static bool is_v4_mapped(const in6_addr& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.s6_addr, kPrefix, sizeof kPrefix) == 0;
}

size_t format_peer(const sockaddr_storage& peer, char* out, size_t cap) {
  if (cap == 0) return 0;
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  bool v6 = false;
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    port = ntohs(a.sin_port);
  } else if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer);
    if (is_v4_mapped(a.sin6_addr)) {
      inet_ntop(AF_INET, a.sin6_addr.s6_addr + 12, ip, sizeof ip);
    } else {
      inet_ntop(AF_INET6, &a.sin6_addr, ip, sizeof ip);
      v6 = true;
    }
    port = ntohs(a.sin6_port);
  } else {
    int n = std::snprintf(out, cap, "?");
    return n < 0 ? 0 : std::min(static_cast<size_t>(n), cap - 1);
  }
  int n = v6 ? std::snprintf(out, cap, "[%s]:%u", ip, port)
             : std::snprintf(out, cap, "%s:%u", ip, port);
  return n < 0 ? 0 : std::min(static_cast<size_t>(n), cap - 1);
}

IpKey ip_key(const sockaddr_storage& peer, int v6_prefix_bits) {
  IpKey key{};
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(peer);
    key[10] = key[11] = 0xff;
    std::memcpy(key.data() + 12, &a.sin_addr, 4);
  } else if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer);
    std::memcpy(key.data(), a.sin6_addr.s6_addr, 16);
    if (is_v4_mapped(a.sin6_addr)) return key;
    int bits = v6_prefix_bits < 0 ? 0 : (v6_prefix_bits > 128 ? 128 : v6_prefix_bits);
    for (int i = 0; i < 16; ++i) {
      int keep = bits - i * 8;
      if (keep <= 0) {
        key[i] = 0;
      } else if (keep < 8) {
        key[i] &= static_cast<uint8_t>(0xff00 >> keep);
      }
    }
  }
  return key;
}

uint64_t ip_key_hash(const IpKey& key) {
  uint64_t lo, hi;
  std::memcpy(&lo, key.data(), 8);
  std::memcpy(&hi, key.data() + 8, 8);
  // splitmix64 finalizer over both halves: cheap and mixes every input bit.
  uint64_t h = lo ^ (hi * 0x9e3779b97f4a7c15ULL);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

}  // namespace chatd
