#include "http/router.h"

#include <gtest/gtest.h>

#include "test_request.h"

namespace chatd {
namespace {

constexpr const char* kUpgrade =
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n";

TEST(Router, Table) {
  const struct {
    const char* method;
    const char* target;
    bool upgrade;
    RouteKind kind;
    int status;
  } cases[] = {
      {"GET", "/", false, RouteKind::static_file, 200},
      {"GET", "/chat.html", false, RouteKind::static_file, 200},
      {"HEAD", "/app.js?v=3", false, RouteKind::static_file, 200},
      {"GET", "/healthz", false, RouteKind::healthz, 200},
      {"GET", "/healthz?probe=1", false, RouteKind::healthz, 200},
      {"HEAD", "/healthz", false, RouteKind::healthz, 200},
      {"GET", "/metrics", false, RouteKind::metrics, 200},
      {"GET", "/metrics/", false, RouteKind::static_file, 200},
      {"GET", "/ws", true, RouteKind::websocket, 200},
      {"GET", "/ws?room=a", true, RouteKind::websocket, 200},
      {"GET", "http://h/ws", true, RouteKind::websocket, 200},
      {"GET", "/ws", false, RouteKind::error, 400},
      {"HEAD", "/ws", false, RouteKind::error, 400},
      {"GET", "/ws/", true, RouteKind::error, 404},
      {"GET", "/", true, RouteKind::error, 404},
      {"GET", "/healthz", true, RouteKind::error, 404},
      {"GET", "/WS", true, RouteKind::error, 404},
      {"POST", "/", false, RouteKind::error, 405},
      {"POST", "/ws", true, RouteKind::error, 405},
      {"PUT", "/healthz", false, RouteKind::error, 405},
      {"OPTIONS", "*", false, RouteKind::error, 405},
      {"get", "/", false, RouteKind::error, 405},
  };
  for (const auto& c : cases) {
    std::string raw = std::string(c.method) + " " + c.target + " HTTP/1.1\r\nHost: h\r\n" +
                      (c.upgrade ? kUpgrade : "") + "\r\n";
    ParsedRequest p(raw);
    Route r = route(p.req);
    EXPECT_EQ(r.kind, c.kind) << raw;
    if (c.kind == RouteKind::error) {
      EXPECT_EQ(r.status, c.status) << raw;
    }
  }
}

TEST(Router, OtherUpgradesAreIgnored) {
  ParsedRequest p("GET /x.css HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n");
  EXPECT_EQ(route(p.req).kind, RouteKind::static_file);
  ParsedRequest ws("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: h2c, WebSocket\r\n\r\n");
  EXPECT_EQ(route(ws.req).kind, RouteKind::websocket);
}

}  // namespace
}  // namespace chatd
