#include "http/request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd {
namespace {

using namespace std::string_literals;

bool same(const ParseResult& a, const ParseResult& b) {
  return a.status == b.status && a.head_len == b.head_len && a.http_status == b.http_status;
}

std::string describe(const ParseResult& r) {
  return "status=" + std::to_string(int(r.status)) + " head_len=" + std::to_string(r.head_len) +
         " http=" + std::to_string(r.http_status);
}

// Parses `raw` (exactly one head) whole, byte by byte, and cut in two at every
// offset; every proper prefix must be incomplete and every way must agree.
ParseResult parse_every_way(const std::string& raw, Request& req) {
  HeadScan scan;
  ParseResult whole = parse_request(raw.data(), raw.size(), scan, req);
  EXPECT_EQ(scan.scanned, 0u) << "scan not reset";

  HeadScan bytewise;
  for (size_t n = 1; n < raw.size(); ++n) {
    ParseResult r = parse_request(raw.data(), n, bytewise, req);
    EXPECT_EQ(r.status, ParseStatus::incomplete) << "byte-wise prefix " << n << " " << describe(r);
    // Only the new byte is scanned next time: the scan remembers where it stopped.
    EXPECT_EQ(bytewise.scanned, n);
  }
  ParseResult last = parse_request(raw.data(), raw.size(), bytewise, req);
  EXPECT_TRUE(same(last, whole)) << describe(last) << " vs " << describe(whole);

  for (size_t cut = 0; cut < raw.size(); ++cut) {
    HeadScan s;
    ParseResult r = parse_request(raw.data(), cut, s, req);
    EXPECT_EQ(r.status, ParseStatus::incomplete) << "cut at " << cut << " " << describe(r);
    r = parse_request(raw.data(), raw.size(), s, req);
    EXPECT_TRUE(same(r, whole)) << "cut at " << cut << " " << describe(r);
  }
  // Leave req filled from a whole parse.
  HeadScan fresh;
  return parse_request(raw.data(), raw.size(), fresh, req);
}

struct Good {
  const char* name;
  std::string raw;
  std::string method, path, query;
  int minor;
  size_t headers;
  bool keep_alive;
};

TEST(RequestParser, ValidRequests) {
  const Good cases[] = {
      {"minimal 1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", "", 1, 1, true},
      {"1.0 without host", "GET /x HTTP/1.0\r\n\r\n", "GET", "/x", "", 0, 0, false},
      {"1.0 keep-alive", "GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/x", "", 0, 1,
       true},
      {"1.1 close", "HEAD /a.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "HEAD",
       "/a.css", "", 1, 2, false},
      {"close among tokens", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", "GET",
       "/", "", 1, 2, false},
      {"query string", "GET /ws?room=1&x HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/ws", "room=1&x", 1,
       1, true},
      {"fragment dropped", "GET /p?q#frag HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/p", "q", 1, 1,
       true},
      {"absolute-form", "GET http://h:8080/x/y?z HTTP/1.1\r\nHost: h:8080\r\n\r\n", "GET", "/x/y",
       "z", 1, 1, true},
      {"absolute-form no path", "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", "GET", "/", "", 1, 1,
       true},
      {"HTTP/1.2 served as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", "GET", "/", "", 1, 1, true},
      {"no space after colon", "GET / HTTP/1.1\r\nHost:a\r\n\r\n", "GET", "/", "", 1, 1, true},
      {"empty header value", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n", "GET", "/", "", 1, 2,
       true},
      {"tabs around value", "GET / HTTP/1.1\r\nHost:\t a \t\r\n\r\n", "GET", "/", "", 1, 1, true},
      {"obs-text in value", "GET / HTTP/1.1\r\nHost: a\r\nX-U: caf\xc3\xa9\r\n\r\n", "GET", "/", "",
       1, 2, true},
      {"other method parses", "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", "DELETE", "/x", "", 1, 1,
       true},
      {"POST with body parses, closes", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
       "POST", "/x", "", 1, 2, false},
      {"GET with Content-Length 0", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "GET",
       "/", "", 1, 2, true},
      {"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", "", 1, 1, true},
      {"token chars in method and name",
       "M-1!#$%&'*+.^_`|~ / HTTP/1.1\r\nHost: a\r\nX!#$%&'*+.^_`|~: v\r\n\r\n", "M-1!#$%&'*+.^_`|~",
       "/", "", 1, 2, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Request req;
    ParseResult r = parse_every_way(c.raw, req);
    ASSERT_EQ(r.status, ParseStatus::complete) << describe(r);
    EXPECT_EQ(r.head_len, c.raw.size());
    EXPECT_EQ(req.method, c.method);
    EXPECT_EQ(req.path, c.path);
    EXPECT_EQ(req.query, c.query);
    EXPECT_EQ(req.minor_version, c.minor);
    EXPECT_EQ(req.header_count, c.headers);
    EXPECT_EQ(keep_alive(req), c.keep_alive);
  }
}

TEST(RequestParser, HeaderLookupIsCaseInsensitiveAndViewsIntoBuffer) {
  std::string raw =
      "GET /ws HTTP/1.1\r\nHOST: example.com\r\nSec-WebSocket-Key: abc \r\n"
      "Connection: keep-alive, Upgrade\r\nconnection: x\r\n\r\n";
  Request req;
  ASSERT_EQ(parse_every_way(raw, req).status, ParseStatus::complete);
  EXPECT_EQ(req.header("host"), "example.com");
  EXPECT_EQ(req.header("sec-websocket-key"), "abc");
  EXPECT_EQ(req.header("SEC-WEBSOCKET-KEY"), "abc");
  EXPECT_EQ(req.header("missing"), "");
  EXPECT_EQ(req.find("missing"), nullptr);
  EXPECT_EQ(req.count("connection"), 2u);
  EXPECT_TRUE(header_has_token(req, "Connection", "upgrade"));
  EXPECT_TRUE(header_has_token(req, "connection", "X"));
  EXPECT_FALSE(header_has_token(req, "connection", "close"));
  const char* b = raw.data();
  EXPECT_TRUE(req.method.data() >= b && req.method.data() < b + raw.size());
  EXPECT_TRUE(req.header("host").data() > b && req.header("host").data() < b + raw.size());
}

TEST(RequestParser, TokenList) {
  const struct {
    const char* value;
    const char* token;
    bool has;
  } cases[] = {
      {"keep-alive, Upgrade", "upgrade", true},
      {"Upgrade", "UPGRADE", true},
      {"upgrade2", "upgrade", false},
      {"up grade", "upgrade", false},
      {" , ,upgrade,", "upgrade", true},
      {"\tupgrade\t", "upgrade", true},
      {"", "upgrade", false},
      {"keep-alive;upgrade", "upgrade", false},
      {"websocket", "websocket", true},
      {"WebSocket, h2c", "websocket", true},
  };
  for (const auto& c : cases) EXPECT_EQ(list_has_token(c.value, c.token), c.has) << c.value;
}

struct Bad {
  const char* name;
  std::string raw;
  int status;
};

TEST(RequestParser, MalformedRequests) {
  const Bad cases[] = {
      {"bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400},
      {"bare LF on header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
      {"bare LF ending head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
      {"bare CR in value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400},
      {"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"empty head", "\r\n\r\n", 400},
      {"no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
      {"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
      {"long version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: a\r\n\r\n", 400},
      {"bad method char", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"high byte in target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"NUL in target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s, 400},
      {"relative target", "GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400},
      {"obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
      {"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400},
      {"bad name char", "GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n", 400},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n"s, 400},
      {"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n", 400},
      {"missing host on 1.1", "GET / HTTP/1.1\r\nX: a\r\n\r\n", 400},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET with body", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", 400},
      {"HEAD with body", "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", 400},
      {"GET chunked", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"bad content-length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400},
      {"negative content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
      {"two content-lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
      {"HTTP/3.0", "GET / HTTP/3.0\r\n\r\n", 505},
      {"binary garbage", "\x16\x03\x01\x02\n\n", 400},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Request req;
    ParseResult r = parse_every_way(c.raw, req);
    EXPECT_EQ(r.status, ParseStatus::error) << describe(r);
    EXPECT_EQ(r.http_status, c.status);
  }
}

std::string head_with_target_of(size_t total) {
  // "GET /aaa... HTTP/1.1\r\nHost: a\r\n\r\n" padded to exactly `total` bytes.
  const size_t fixed = std::string("GET / HTTP/1.1\r\nHost: a\r\n\r\n").size();
  return "GET /" + std::string(total - fixed, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
}

TEST(RequestParser, HeadLimitCountsTheTarget) {
  std::string at = head_with_target_of(kMaxHeadBytes);
  ASSERT_EQ(at.size(), kMaxHeadBytes);
  Request req;
  ParseResult r = parse_every_way(at, req);
  EXPECT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.head_len, kMaxHeadBytes);

  std::string over = head_with_target_of(kMaxHeadBytes + 1);
  HeadScan scan;
  r = parse_request(over.data(), over.size(), scan, req);
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.http_status, 431);

  // Byte by byte: incomplete up to kMaxHeadBytes - 1 bytes, then 431.
  HeadScan bytewise;
  for (size_t n = 1; n < kMaxHeadBytes; ++n)
    ASSERT_EQ(parse_request(over.data(), n, bytewise, req).status, ParseStatus::incomplete) << n;
  r = parse_request(over.data(), kMaxHeadBytes, bytewise, req);
  EXPECT_EQ(r.http_status, 431);
}

TEST(RequestParser, HeadLimitWithHeaders) {
  std::string base = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  std::string pad(kMaxHeadBytes - base.size() - 4, 'v');
  std::string at = base + pad + "\r\n\r\n";
  ASSERT_EQ(at.size(), kMaxHeadBytes);
  Request req;
  HeadScan scan;
  EXPECT_EQ(parse_request(at.data(), at.size(), scan, req).status, ParseStatus::complete);
  std::string over = base + pad + "v\r\n\r\n";
  EXPECT_EQ(parse_request(over.data(), over.size(), scan, req).http_status, 431);
}

TEST(RequestParser, HeaderCountLimit) {
  std::string at = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 1; i < kMaxHeaders; ++i) at += "X-" + std::to_string(i) + ": v\r\n";
  Request req;
  ParseResult r = parse_every_way(at + "\r\n", req);
  EXPECT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(req.header_count, kMaxHeaders);
  r = parse_every_way(at + "X-last: v\r\n\r\n", req);
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.http_status, 431);
}

TEST(RequestParser, PipelinedRequestsConsumeExactlyTheirHeads) {
  std::string buf =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "HEAD /b?x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
      "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n\x81\x85";
  const std::vector<std::string> paths = {"/a", "/b", "/ws"};
  HeadScan scan;
  Request req;
  size_t off = 0;
  for (const auto& p : paths) {
    ParseResult r = parse_request(buf.data() + off, buf.size() - off, scan, req);
    ASSERT_EQ(r.status, ParseStatus::complete) << p;
    EXPECT_EQ(req.path, p);
    off += r.head_len;
  }
  EXPECT_EQ(buf.substr(off), "\x81\x85");  // frame bytes behind the handshake are kept
  EXPECT_EQ(parse_request(buf.data() + off, buf.size() - off, scan, req).status,
            ParseStatus::incomplete);
}

TEST(RequestParser, PipelinedFedByteByByte) {
  std::string buf =
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /3 HTTP/1.0\r\n\r\n";
  HeadScan scan;
  Request req;
  size_t start = 0;
  std::vector<std::string> seen;
  for (size_t end = 1; end <= buf.size(); ++end) {
    ParseResult r = parse_request(buf.data() + start, end - start, scan, req);
    ASSERT_NE(r.status, ParseStatus::error);
    if (r.status == ParseStatus::complete) {
      seen.emplace_back(req.path);
      start += r.head_len;
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"/1", "/2", "/3"}));
  EXPECT_EQ(start, buf.size());
}

}  // namespace
}  // namespace chatd
