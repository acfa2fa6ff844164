// Cidr: an address range such as 10.0.0.0/8 or 2001:db8::/32, for
// --trusted-proxy. IPv4 ranges are kept in the IPv4-mapped IPv6 space
// (::ffff:a.b.c.d/96+n), the space IpKey uses, so one match covers peers on
// v4 and on dual-stack listeners alike. Pure.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/socket.h"

namespace chatd {

struct Cidr {
  IpKey prefix{};    // the bits past `bits` are zero
  uint8_t bits = 0;  // 0..128, in the mapped space
};

// Parses "a.b.c.d/n" (n 0..32), "v6/n" (n 0..128), or a bare address (one
// host). Returns nullopt for anything else: host bits set past the prefix
// ("10.0.0.1/8") are refused, as a likely typo, instead of being dropped.
std::optional<Cidr> parse_cidr(std::string_view text);

// True if the full 128-bit key `ip` (ip_key with prefix 128) is in `range`.
bool cidr_contains(const Cidr& range, const IpKey& ip);

// True if `ip` is in any of `ranges`.
bool in_any(std::span<const Cidr> ranges, const IpKey& ip);

// Parses an IPv4 or IPv6 literal (no port, no brackets, no zone) into a
// sockaddr with port 0; returns false if it is not one.
bool parse_ip_literal(std::string_view text, sockaddr_storage& out);

}  // namespace chatd
