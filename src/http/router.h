// Maps a parsed request to what answers it (PROTOCOL.md, "Endpoints").
#pragma once

#include <cstdint>

#include "http/request.h"

namespace chatd {

enum class RouteKind : uint8_t { static_file, healthz, metrics, websocket, error };

struct Route {
  RouteKind kind;
  int status = 200;  // error: 400 (/ws without upgrade), 404 or 405
};

// Picks the handler, in this order: a method other than GET/HEAD -> 405
// (answer with make_error_response, which adds "Allow: GET, HEAD"); path
// "/ws" -> websocket if `Upgrade` lists "websocket", else 400; that upgrade
// request on any other path -> 404; "/healthz", "/metrics"; anything else ->
// static_file. The query string is ignored. A websocket route still has to
// pass check_upgrade (http/handshake.h).
Route route(const Request& req);

// True if the request asks for a WebSocket upgrade ("Upgrade: websocket").
bool wants_websocket(const Request& req);

}  // namespace chatd
