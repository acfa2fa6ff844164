#include "http/response.h"

#include <gtest/gtest.h>

#include <string>

#include "http/date.h"

namespace chatd {
namespace {

std::string text(const BlockRef& b) {
  return std::string(b->view());
}

std::string head_of(const std::string& r) {
  return r.substr(0, r.find("\r\n\r\n") + 4);
}

TEST(Response, OkWithBody) {
  std::string r = text(make_response(200, "text/plain", "ok", false, true));
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nServer: chatd\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nDate: "), std::string::npos);
  EXPECT_NE(r.find("\r\nContent-Type: text/plain\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nContent-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 6), "\r\n\r\nok");
}

TEST(Response, HeadOnlyKeepsLengthDropsBody) {
  std::string r = text(make_response(200, "text/html", "<p>hello</p>", true, false, "X-A: 1\r\n"));
  EXPECT_EQ(head_of(r), r);
  EXPECT_NE(r.find("\r\nContent-Length: 12\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: close\r\nX-A: 1\r\n\r\n"), std::string::npos);
}

TEST(Response, NotModifiedHasNoContentLength) {
  std::string r = text(make_response(304, {}, {}, true, true, "ETag: \"1\"\r\n"));
  EXPECT_EQ(r.rfind("HTTP/1.1 304 Not Modified\r\n", 0), 0u);
  EXPECT_EQ(r.find("Content-Length"), std::string::npos);
  EXPECT_EQ(r.find("Content-Type"), std::string::npos);
}

TEST(Response, ErrorTable) {
  const struct {
    int status;
    bool keep_alive_in;
    const char* status_line;
    const char* extra;
    bool closes;
  } cases[] = {
      {400, true, "HTTP/1.1 400 Bad Request\r\n", nullptr, true},
      {403, true, "HTTP/1.1 403 Forbidden\r\n", nullptr, false},
      {404, true, "HTTP/1.1 404 Not Found\r\n", nullptr, false},
      {404, false, "HTTP/1.1 404 Not Found\r\n", nullptr, true},
      {405, true, "HTTP/1.1 405 Method Not Allowed\r\n", "\r\nAllow: GET, HEAD\r\n", false},
      {426, true, "HTTP/1.1 426 Upgrade Required\r\n", "\r\nSec-WebSocket-Version: 13\r\n", false},
      {431, true, "HTTP/1.1 431 Request Header Fields Too Large\r\n", nullptr, true},
      {503, true, "HTTP/1.1 503 Service Unavailable\r\n", nullptr, false},
      {505, true, "HTTP/1.1 505 HTTP Version Not Supported\r\n", nullptr, true},
  };
  for (const auto& c : cases) {
    std::string r = text(make_error_response(c.status, false, c.keep_alive_in));
    SCOPED_TRACE(r);
    EXPECT_EQ(r.rfind(c.status_line, 0), 0u);
    EXPECT_NE(r.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
    if (c.extra) {
      EXPECT_NE(r.find(c.extra), std::string::npos);
    }
    EXPECT_EQ(r.find("Connection: close\r\n") != std::string::npos, c.closes);
    std::string body = r.substr(head_of(r).size());
    EXPECT_FALSE(body.empty());
    EXPECT_NE(r.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
    EXPECT_EQ(status_forces_close(c.status), c.status == 400 || c.status == 431 || c.status == 505);
  }
}

TEST(HttpDate, FormatAndParse) {
  char buf[kHttpDateLen];
  format_http_date(784111777, buf);
  EXPECT_EQ(std::string(buf, kHttpDateLen), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), std::optional<time_t>(784111777));
  format_http_date(0, buf);
  EXPECT_EQ(std::string(buf, kHttpDateLen), "Thu, 01 Jan 1970 00:00:00 GMT");
  const char* bad[] = {"",
                       "Sunday, 06-Nov-94 08:49:37 GMT",
                       "Sun Nov  6 08:49:37 1994",
                       "Sun, 06 Nov 1994 08:49:37 UTC",
                       "Sun, 06 Xyz 1994 08:49:37 GMT",
                       "Sun, 06 Nov 1994 25:49:37 GMT",
                       "Sun, 6 Nov 1994 08:49:37 GMT",
                       "Sun, 06 Nov 19a4 08:49:37 GMT"};
  for (const char* s : bad) EXPECT_FALSE(parse_http_date(s).has_value()) << s;
}

}  // namespace
}  // namespace chatd
