#include "app/forwarded.h"

#include <vector>

namespace chatd {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Accepts the forms proxies write: "a.b.c.d", "v6", "[v6]", and with a port
// "a.b.c.d:p" or "[v6]:p" (some proxies append the client's port).
bool parse_entry(std::string_view e, sockaddr_storage& out) {
  if (!e.empty() && e.front() == '[') {
    size_t close = e.find(']');
    if (close == std::string_view::npos) return false;
    return parse_ip_literal(e.substr(1, close - 1), out) && out.ss_family == AF_INET6;
  }
  if (size_t colon = e.find(':');
      colon != std::string_view::npos && e.find(':', colon + 1) == std::string_view::npos)
    e = e.substr(0, colon);  // one colon: IPv4 with a port
  return parse_ip_literal(e, out);
}

}  // namespace

std::optional<sockaddr_storage> forwarded_client(const Request& req,
                                                 std::span<const Cidr> trusted) {
  // The entries of every X-Forwarded-For header, in order: several headers
  // are one list joined with commas (RFC 9110, 5.3).
  std::vector<std::string_view> entries;
  for (size_t i = 0; i < req.header_count; ++i) {
    if (!ascii_iequals(req.headers[i].name, "x-forwarded-for")) continue;
    std::string_view v = req.headers[i].value;
    while (true) {
      size_t comma = v.find(',');
      std::string_view item = trim(v.substr(0, comma));
      if (!item.empty()) entries.push_back(item);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  std::optional<sockaddr_storage> found;
  for (size_t i = entries.size(); i-- > 0;) {
    sockaddr_storage ss;
    if (!parse_entry(entries[i], ss)) return std::nullopt;
    found = ss;
    if (!in_any(trusted, ip_key(ss, 128))) return found;
  }
  return found;  // every hop was a trusted proxy: the left-most is the client
}

}  // namespace chatd
