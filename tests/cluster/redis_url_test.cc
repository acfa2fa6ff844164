#include "cluster/redis_url.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

using Kind = RedisUrl::Kind;

struct Good {
  const char* text;
  Kind kind;
  const char* host;
  uint16_t port;
  const char* path;
  const char* user;
  const char* password;
  bool has_password;
  uint32_t db;
  bool numeric;
};

TEST(RedisUrl, GoodUrls) {
  const Good cases[] = {
      {"redis://127.0.0.1:6379", Kind::tcp, "127.0.0.1", 6379, "", "", "", false, 0, true},
      {"redis://127.0.0.1", Kind::tcp, "127.0.0.1", 6379, "", "", "", false, 0, true},
      {"redis://localhost:7000/3", Kind::tcp, "localhost", 7000, "", "", "", false, 3, false},
      {"redis://localhost:7000/", Kind::tcp, "localhost", 7000, "", "", "", false, 0, false},
      {"redis://:secret@10.0.0.5:6380/1", Kind::tcp, "10.0.0.5", 6380, "", "", "secret", true, 1,
       true},
      {"redis://alice:s3cr3t@redis.internal:6379", Kind::tcp, "redis.internal", 6379, "", "alice",
       "s3cr3t", true, 0, false},
      {"redis://secret@host", Kind::tcp, "host", 6379, "", "", "secret", true, 0, false},
      {"redis://u:p%40ss%3A@h:1", Kind::tcp, "h", 1, "", "u", "p@ss:", true, 0, false},
      {"redis://u:p@ss@h:1", Kind::tcp, "h", 1, "", "u", "p@ss", true, 0, false},
      {"redis://[::1]:6379/2", Kind::tcp, "::1", 6379, "", "", "", false, 2, true},
      {"redis://[::1]", Kind::tcp, "::1", 6379, "", "", "", false, 0, true},
      {"redis://[2001:db8::7]:65535", Kind::tcp, "2001:db8::7", 65535, "", "", "", false, 0, true},
      {"unix:///run/redis/redis.sock", Kind::unix_socket, "", 6379, "/run/redis/redis.sock", "", "",
       false, 0, false},
      {"unix:///tmp/r.sock?db=5", Kind::unix_socket, "", 6379, "/tmp/r.sock", "", "", false, 5,
       false},
      {"redis+unix:///tmp/r.sock", Kind::unix_socket, "", 6379, "/tmp/r.sock", "", "", false, 0,
       false},
  };
  for (const Good& g : cases) {
    SCOPED_TRACE(g.text);
    RedisUrlResult r = parse_redis_url(g.text);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.url.kind, g.kind);
    EXPECT_EQ(r.url.host, g.host);
    EXPECT_EQ(r.url.port, g.port);
    EXPECT_EQ(r.url.path, g.path);
    EXPECT_EQ(r.url.user, g.user);
    EXPECT_EQ(r.url.password, g.password);
    EXPECT_EQ(r.url.has_password, g.has_password);
    EXPECT_EQ(r.url.db, g.db);
    EXPECT_EQ(r.url.numeric_host, g.numeric);
  }
}

struct Bad {
  const char* text;
  const char* error_contains;
};

TEST(RedisUrl, BadUrlsSayWhyInOneLine) {
  const Bad cases[] = {
      {"", "is not a Redis URL"},
      {"localhost:6379", "is not a Redis URL"},
      {"http://localhost", "is not a Redis URL"},
      {"rediss://localhost", "TLS"},
      {"redis://", "no host"},
      {"redis://:6379", "no host"},
      {"redis://host:0", "is not a port"},
      {"redis://host:65536", "is not a port"},
      {"redis://host:port", "is not a port"},
      {"redis://host:", "is not a port"},
      {"redis://host:-1", "is not a port"},
      {"redis://host/x", "not a database number"},
      {"redis://host/1/2", "not a database number"},
      {"redis://host/99999999", "not a database number"},
      {"redis://host?db=1", "query"},
      {"redis://ho st", "not a host name"},
      {"redis://[::1", "unclosed"},
      {"redis://[::1]x", "junk"},
      {"redis://[nope]:1", "not an IPv6"},
      {"redis://[]:1", "not an IPv6"},
      {"redis://u:@h", "empty password"},
      {"redis://u:%4@h", "%-escape"},
      {"redis://u:%00@h", "%-escape"},
      {"unix://relative.sock", "absolute path"},
      {"unix://", "absolute path"},
      {"unix:///tmp/r.sock?db=x", "not a database number"},
      {"unix:///tmp/r.sock?timeout=1", "unknown query"},
  };
  for (const Bad& b : cases) {
    SCOPED_TRACE(b.text);
    RedisUrlResult r = parse_redis_url(b.text);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find(b.error_contains), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos);
  }
}

TEST(RedisUrl, LongUnixPathIsRefused) {
  std::string text = "unix:///" + std::string(200, 'a');
  EXPECT_FALSE(parse_redis_url(text).ok);
}

TEST(RedisUrl, EveryPrefixOfAGoodUrlIsAnswered) {
  // No prefix may crash or read past the end; each one either parses or fails cleanly.
  std::string full = "redis://alice:pw@[2001:db8::1]:6380/4";
  for (size_t n = 0; n <= full.size(); ++n) {
    RedisUrlResult r = parse_redis_url(std::string_view(full).substr(0, n));
    EXPECT_TRUE(r.ok || !r.error.empty()) << n;
  }
}

TEST(RedisUrl, LogFormHidesThePassword) {
  EXPECT_EQ(redis_url_for_log(parse_redis_url("redis://alice:pw@h:1/2").url),
            "redis://alice:***@h:1/2");
  EXPECT_EQ(redis_url_for_log(parse_redis_url("redis://[::1]").url), "redis://[::1]:6379");
  EXPECT_EQ(redis_url_for_log(parse_redis_url("unix:///tmp/r.sock?db=3").url),
            "unix:///tmp/r.sock?db=3");
}

}  // namespace
}  // namespace chatd
