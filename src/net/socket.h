// Socket helpers: the listener, accept, read, gathered send, and the peer
// address as text or as a key for per-IP limits.
//
// Every call returns `long`: >= 0 on success, -errno on failure (base/sys.h).
// EINTR is retried inside; -EAGAIN means "not now" on non-blocking fds.
// None of these own the fds they are given; returned fds belong to the caller.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace chatd {

// Opens a non-blocking CLOEXEC TCP listener bound to `host`:`port` with
// SO_REUSEADDR, and returns its fd or -errno. `host` is an address literal,
// IPv4 ("0.0.0.0", "127.0.0.1") or IPv6 ("::", "::1", also "[::1]"), taken
// as is; or a host name ("localhost"), resolved once with getaddrinfo
// (AI_PASSIVE), binding the first address that works. A host that is
// neither (nullptr, "", "256.1.1.1", "[::1") or a name that does not resolve
// is -EINVAL; only strings that look like names ever reach the resolver. An
// IPv6 wildcard "::" is dual-stack (IPV6_V6ONLY off): it also accepts IPv4
// clients, seen as ::ffff:a.b.c.d. Port 0 picks a free port (local_port).
// With `reuse_port`, SO_REUSEPORT too: other processes that set it may bind
// the same address and port, and the kernel spreads connections over them.
long listen_tcp(const char* host, uint16_t port, int backlog, bool reuse_port = false);

// Opens a blocking CLOEXEC TCP connection to `host`:`port` (same host rules
// as listen_tcp); returns the fd or -errno. For tests and tools.
long connect_tcp(const char* host, uint16_t port);

// Returns the local port a socket is bound to, or -errno.
long local_port(int fd);

// Accepts one pending connection as a non-blocking CLOEXEC fd and stores the
// peer address in `*peer` when non-null; returns the fd or -errno (-EAGAIN:
// none pending; -EMFILE/-ENFILE: out of fds, the connection stays queued).
// EINTR and ECONNABORTED (a client that gave up while queued) are retried.
long accept_nonblocking(int listen_fd, sockaddr_storage* peer);

// Reads up to `n` bytes; returns the count, 0 at end of stream, or -errno.
long read_some(int fd, void* buf, size_t n);

// Sends `cnt` buffers in one sendmsg with MSG_NOSIGNAL, so a peer that closed
// yields -EPIPE instead of SIGPIPE; returns bytes sent (maybe fewer than asked)
// or -errno.
long writev_some(int fd, const iovec* iov, int cnt);

// Turns off Nagle: frames are small and latency matters more than packets.
void set_nodelay(int fd);

// Longest text format_peer writes, NUL included: "[" v6 "]:" port.
inline constexpr size_t kPeerTextMax = 46 + 8;

// Writes "a.b.c.d:port" or "[v6]:port" (an IPv4-mapped IPv6 peer is shown as
// IPv4) NUL-terminated into `out`, truncating to `cap`; returns the length
// written, without the NUL. An unknown family prints "?".
size_t format_peer(const sockaddr_storage& peer, char* out, size_t cap);

// A peer IP as 16 bytes: IPv6 as is, IPv4 as ::ffff:a.b.c.d, so one IPv4
// client counts once whether it came in on a v4 or a dual-stack listener.
using IpKey = std::array<uint8_t, 16>;

// Returns the key of the peer's IP (the port is ignored). For IPv6 peers,
// only the first `v6_prefix_bits` bits are kept (e.g. 64 to count a whole
// /64 as one client, since one host usually owns that many addresses);
// IPv4 peers always keep all 32 bits. An unknown family yields all zeros.
IpKey ip_key(const sockaddr_storage& peer, int v6_prefix_bits = 128);

// A well-mixed 64-bit hash of a key, for an open-addressing table.
uint64_t ip_key_hash(const IpKey& key);

}  // namespace chatd
