#include "cluster/redis_url.h"

#include <arpa/inet.h>

#include <optional>

namespace chatd {
namespace {

// Redis' databases are numbered 0..15 by default; a server configured with
// more accepts larger ones, so only an absurd number is refused here.
constexpr uint64_t kMaxDb = 1'000'000;
constexpr size_t kMaxHost = 253;
constexpr size_t kMaxUnixPath = 107;  // sun_path holds 108 bytes with the NUL

std::optional<uint64_t> decimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 7) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + uint64_t(c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
    out += char(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

RedisUrlResult fail(std::string why) {
  RedisUrlResult r;
  r.error = std::move(why);
  return r;
}

RedisUrlResult parse_unix(std::string_view rest) {
  RedisUrlResult r;
  r.url.kind = RedisUrl::Kind::unix_socket;
  std::string_view path = rest, query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  if (path.empty() || path.front() != '/')
    return fail("a unix socket URL needs an absolute path: unix:///path/to/redis.sock");
  if (path.size() > kMaxUnixPath)
    return fail("the socket path is longer than " + std::to_string(kMaxUnixPath) + " bytes");
  auto decoded = percent_decode(path);
  if (!decoded) return fail("bad %-escape in the socket path");
  r.url.path = *decoded;
  if (!query.empty()) {
    if (query.substr(0, 3) != "db=")
      return fail("unknown query \"" + std::string(query) + "\" (only ?db=N)");
    auto db = decimal(query.substr(3), kMaxDb);
    if (!db) return fail("\"" + std::string(query.substr(3)) + "\" is not a database number");
    r.url.db = uint32_t(*db);
  }
  r.ok = true;
  return r;
}

RedisUrlResult parse_tcp(std::string_view rest) {
  RedisUrlResult r;
  std::string_view authority = rest, db_text;
  bool has_db = false;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    db_text = rest.substr(slash + 1);
    has_db = true;
  }
  if (authority.find('?') != std::string_view::npos || db_text.find('?') != std::string_view::npos)
    return fail("a query is not understood in a redis:// URL (give the database as /N)");
  // The last '@' ends the userinfo: a password may hold an unescaped '@'.
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = info.find(':');
    std::string_view user = info, pass;
    if (colon != std::string_view::npos) {
      user = info.substr(0, colon);
      pass = info.substr(colon + 1);
      r.url.has_password = true;
    } else {
      // "redis://secret@host" is how many tools write a password alone.
      pass = info;
      user = {};
      r.url.has_password = true;
    }
    auto u = percent_decode(user), p = percent_decode(pass);
    if (!u || !p) return fail("bad %-escape in the user or password");
    if (r.url.has_password && p->empty()) return fail("empty password after ':'");
    r.url.user = *u;
    r.url.password = *p;
  }
  std::string_view host = authority, port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("junk after ']' in the host");
      port_text = after.substr(1);
      has_port = true;
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1)
      return fail("\"" + std::string(host) + "\" is not an IPv6 address");
    r.url.numeric_host = true;
  } else {
    if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return fail("no host (redis://host:port)");
    if (host.size() > kMaxHost) return fail("the host is longer than 253 bytes");
    for (char c : host)
      if (!host_char(c)) return fail("\"" + std::string(host) + "\" is not a host name or address");
    in_addr a4;
    r.url.numeric_host = inet_pton(AF_INET, std::string(host).c_str(), &a4) == 1;
  }
  if (host.empty()) return fail("no host (redis://host:port)");
  r.url.host = std::string(host);
  if (has_port) {
    auto port = decimal(port_text, 65535);
    if (!port || *port == 0)
      return fail("\"" + std::string(port_text) + "\" is not a port (1..65535)");
    r.url.port = uint16_t(*port);
  }
  if (has_db && !db_text.empty()) {
    auto db = decimal(db_text, kMaxDb);
    if (!db) return fail("\"" + std::string(db_text) + "\" is not a database number");
    r.url.db = uint32_t(*db);
  }
  r.ok = true;
  return r;
}

}  // namespace

RedisUrlResult parse_redis_url(std::string_view text) {
  constexpr std::string_view kTcp = "redis://", kUnix = "unix://", kRedisUnix = "redis+unix://";
  if (text.substr(0, kTcp.size()) == kTcp) return parse_tcp(text.substr(kTcp.size()));
  if (text.substr(0, kUnix.size()) == kUnix) return parse_unix(text.substr(kUnix.size()));
  if (text.substr(0, kRedisUnix.size()) == kRedisUnix)
    return parse_unix(text.substr(kRedisUnix.size()));
  if (text.substr(0, 9) == "rediss://") return fail("TLS (rediss://) is not supported");
  return fail("\"" + std::string(text) +
              "\" is not a Redis URL (redis://[user:password@]host:port[/db] or "
              "unix:///path/redis.sock[?db=N])");
}

std::string redis_url_for_log(const RedisUrl& url) {
  std::string s;
  if (url.kind == RedisUrl::Kind::unix_socket) {
    s = "unix://" + url.path;
    if (url.db != 0) s += "?db=" + std::to_string(url.db);
    return s;
  }
  s = "redis://";
  if (url.has_password) s += url.user + ":***@";
  bool v6 = url.host.find(':') != std::string::npos;
  s += (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
  if (url.db != 0) s += "/" + std::to_string(url.db);
  return s;
}

}  // namespace chatd
