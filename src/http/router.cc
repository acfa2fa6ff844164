#include "http/router.h"

namespace chatd {

bool wants_websocket(const Request& req) {
  return header_has_token(req, "upgrade", "websocket");
}

Route route(const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return {RouteKind::error, 405};
  bool upgrade = wants_websocket(req);
  if (req.path == "/ws")
    return upgrade ? Route{RouteKind::websocket} : Route{RouteKind::error, 400};
  // Other upgrade kinds (h2c) are simply not taken up: the request is served as is.
  if (upgrade) return {RouteKind::error, 404};
  if (req.path == "/healthz") return {RouteKind::healthz};
  if (req.path == "/metrics") return {RouteKind::metrics};
  return {RouteKind::static_file};
}

}  // namespace chatd
