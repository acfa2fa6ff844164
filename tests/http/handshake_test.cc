#include "http/handshake.h"

#include <gtest/gtest.h>

#include <string>

#include "test_request.h"

namespace chatd {
namespace {

TEST(Handshake, AcceptKeyRfc6455Sample) {
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, SwitchingProtocolsResponse) {
  BlockRef b = make_switching_protocols("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string r(b->view());
  EXPECT_EQ(r.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  const std::string tail = "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  EXPECT_EQ(r.substr(r.size() - tail.size()), tail);
  EXPECT_EQ(r.find("Content-Length"), std::string::npos);
  EXPECT_EQ(r.find("Sec-WebSocket-Extensions"), std::string::npos);
  EXPECT_EQ(r.find("Sec-WebSocket-Protocol"), std::string::npos);
}

// A valid handshake with one header replaced, removed (empty value) or added.
std::string handshake(std::string first_line = "GET /ws HTTP/1.1",
                      std::string host = "chat.example:8080", std::string upgrade = "websocket",
                      std::string connection = "Upgrade",
                      std::string key = "dGhlIHNhbXBsZSBub25jZQ==", std::string version = "13",
                      std::string more = "") {
  std::string r = first_line + "\r\nHost: " + host + "\r\n";
  if (!upgrade.empty()) r += "Upgrade: " + upgrade + "\r\n";
  if (!connection.empty()) r += "Connection: " + connection + "\r\n";
  if (!key.empty()) r += "Sec-WebSocket-Key: " + key + "\r\n";
  if (!version.empty()) r += "Sec-WebSocket-Version: " + version + "\r\n";
  return r + more + "\r\n";
}

std::string with_origin(const std::string& origin, const std::string& host = "chat.example:8080") {
  return handshake("GET /ws HTTP/1.1", host, "websocket", "Upgrade",
                   "dGhlIHNhbXBsZSBub25jZQ==", "13", "Origin: " + origin + "\r\n");
}

TEST(Handshake, StatusTable) {
  OriginPolicy policy;
  ASSERT_TRUE(policy.add("https://Trusted.example"));
  ASSERT_TRUE(policy.add("http://dev.local:3000/"));
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  const struct {
    const char* name;
    std::string raw;
    int status;
  } cases[] = {
      {"valid, no Origin", handshake(), 101},
      {"token lists and case",
       handshake("GET /ws HTTP/1.1", "h", "WebSocket", "keep-alive, UPGRADE"), 101},
      {"extensions ignored",
       handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", key, "13",
                 "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
       101},
      {"HEAD", handshake("HEAD /ws HTTP/1.1"), 400},
      {"HTTP/1.0", handshake("GET /ws HTTP/1.0"), 400},
      {"no Upgrade", handshake("GET /ws HTTP/1.1", "h", ""), 400},
      {"Upgrade not websocket", handshake("GET /ws HTTP/1.1", "h", "h2c"), 400},
      {"no Connection", handshake("GET /ws HTTP/1.1", "h", "websocket", ""), 400},
      {"Connection without upgrade", handshake("GET /ws HTTP/1.1", "h", "websocket", "keep-alive"),
       400},
      {"no key", handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", ""), 400},
      {"key 15 bytes",
       handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", "AAAAAAAAAAAAAAAAAAAA"), 400},
      {"key 17 bytes",
       handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", "AAAAAAAAAAAAAAAAAAAAAAA="), 400},
      {"key not base64",
       handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ=!"), 400},
      {"key unpadded",
       handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ"), 400},
      {"two keys",
       handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", key, "13",
                 "Sec-WebSocket-Key: " + key + "\r\n"),
       400},
      {"no version", handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", key, ""), 400},
      {"version 8", handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", key, "8"), 426},
      {"version 14", handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", key, "14"), 426},
      {"version 13 with junk",
       handshake("GET /ws HTTP/1.1", "h", "websocket", "Upgrade", key, "13, 8"), 426},
      {"same origin", with_origin("http://chat.example:8080"), 101},
      {"same origin, host case", with_origin("http://CHAT.example:8080"), 101},
      {"same origin, default http port", with_origin("http://chat.example", "chat.example"), 101},
      {"same origin, explicit 80", with_origin("http://chat.example", "chat.example:80"), 101},
      {"same origin, https default", with_origin("https://chat.example", "chat.example"), 101},
      {"same origin, https 443", with_origin("https://chat.example", "chat.example:443"), 101},
      {"same origin, IPv6", with_origin("http://[::1]:8080", "[::1]:8080"), 101},
      {"https origin vs host :80", with_origin("https://chat.example", "chat.example:80"), 403},
      {"other port", with_origin("http://chat.example:9090"), 403},
      {"other host", with_origin("http://evil.example:8080"), 403},
      {"suffix host", with_origin("http://evil-chat.example:8080"), 403},
      {"null origin", with_origin("null"), 403},
      {"empty origin", with_origin(""), 403},
      {"origin with userinfo", with_origin("http://evil@chat.example:8080"), 403},
      {"listed origin", with_origin("https://trusted.example"), 101},
      {"listed origin, explicit port", with_origin("https://trusted.example:443"), 101},
      {"listed origin with port", with_origin("http://dev.local:3000"), 101},
      {"listed host, other scheme", with_origin("http://trusted.example"), 403},
      {"listed host, other port", with_origin("http://dev.local:3001"), 403},
      {"two origins",
       handshake("GET /ws HTTP/1.1", "chat.example:8080", "websocket", "Upgrade", key, "13",
                 "Origin: http://chat.example:8080\r\nOrigin: http://chat.example:8080\r\n"),
       403},
  };
  for (const auto& c : cases) {
    ParsedRequest p(c.raw);
    UpgradeCheck u = check_upgrade(p.req, policy);
    EXPECT_EQ(u.status, c.status) << c.name;
    EXPECT_EQ(u.accept, c.status == 101 ? "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" : "") << c.name;
  }
}

TEST(Handshake, WildcardAcceptsAnyOrigin) {
  OriginPolicy any;
  ASSERT_TRUE(any.add("*"));
  ParsedRequest p(with_origin("https://anything.example"));
  EXPECT_EQ(check_upgrade(p.req, any).status, 101);
  ParsedRequest n(with_origin("null"));
  EXPECT_EQ(check_upgrade(n.req, any).status, 101);
}

TEST(Handshake, OriginPolicyParsing) {
  OriginPolicy policy;
  EXPECT_FALSE(policy.add("chat.example"));
  EXPECT_FALSE(policy.add("http://"));
  EXPECT_FALSE(policy.add("http://a:0"));
  EXPECT_FALSE(policy.add("http://a:65536"));
  EXPECT_FALSE(policy.add("http://a/path"));
  EXPECT_FALSE(policy.add("ftp://a"));  // no default port known
  EXPECT_TRUE(policy.add("ftp://a:21"));
  EXPECT_EQ(canonical_origin("HTTPS://Chat.Example"), "https://chat.example:443");
  EXPECT_EQ(canonical_origin("http://chat.example:8080"), "http://chat.example:8080");
  EXPECT_EQ(canonical_origin("null"), "");
}

}  // namespace
}  // namespace chatd
