#include "net/cidr.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace chatd {

bool parse_ip_literal(std::string_view text, sockaddr_storage& out) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return false;
  std::string s(text);
  out = sockaddr_storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return true;
  }
  return false;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  std::string_view addr = text, len_text;
  bool has_len = false;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len_text = text.substr(slash + 1);
    has_len = true;
  }
  sockaddr_storage ss;
  if (!parse_ip_literal(addr, ss)) return std::nullopt;
  bool v4 = ss.ss_family == AF_INET;
  unsigned max = v4 ? 32 : 128;
  unsigned n = max;
  if (has_len) {
    if (len_text.empty() || len_text.size() > 3) return std::nullopt;
    n = 0;
    for (char c : len_text) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + unsigned(c - '0');
    }
    if (n > max) return std::nullopt;
  }
  Cidr r;
  r.prefix = ip_key(ss, 128);
  r.bits = uint8_t(v4 ? 96 + n : n);
  // Every bit past the prefix must already be zero.
  for (unsigned bit = r.bits; bit < 128; ++bit)
    if (r.prefix[bit / 8] & (0x80u >> (bit % 8))) return std::nullopt;
  return r;
}

bool cidr_contains(const Cidr& range, const IpKey& ip) {
  unsigned full = range.bits / 8, rest = range.bits % 8;
  if (std::memcmp(range.prefix.data(), ip.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = uint8_t(0xff00u >> rest);
  return (ip[full] & mask) == range.prefix[full];
}

bool in_any(std::span<const Cidr> ranges, const IpKey& ip) {
  for (const Cidr& r : ranges)
    if (cidr_contains(r, ip)) return true;
  return false;
}

}  // namespace chatd
