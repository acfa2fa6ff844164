// RedisUrl: where a node finds Redis, decoded from the text of --redis into a
// plain struct before anything connects. Pure, cold path.
//
//   redis://[[user]:password@]host[:port][/db]      (port 6379, db 0 by default)
//   unix:///path/to/redis.sock[?db=N]               (also redis+unix://)
//
// An IPv6 host is bracketed ("redis://[::1]:6379"). User and password may be
// percent-encoded ("%40" for '@'). A host name is resolved by hiredis with
// getaddrinfo when connecting, which can block: numeric addresses never do
// (`numeric_host` says which it is, so the app can warn).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chatd {

struct RedisUrl {
  enum class Kind { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;      // tcp: no brackets around an IPv6 literal
  uint16_t port = 6379;  // tcp
  std::string path;      // unix_socket: absolute
  std::string user;      // empty: the default user (AUTH password alone)
  std::string password;  // empty: no AUTH
  bool has_password = false;
  uint32_t db = 0;
  bool numeric_host = false;  // tcp: an IPv4/IPv6 literal, so connecting never resolves a name
};

struct RedisUrlResult {
  bool ok = false;
  RedisUrl url;       // meaningful when ok
  std::string error;  // one line, no "chatd:" prefix, when !ok
};

// Decodes `text`; returns ok with the URL, or !ok with a one-line reason.
RedisUrlResult parse_redis_url(std::string_view text);

// The URL without its password, for logs: "redis://user:***@host:6379/2".
std::string redis_url_for_log(const RedisUrl& url);

}  // namespace chatd
