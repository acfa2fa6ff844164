// The server side of the WebSocket opening handshake (RFC 6455 4.2.1, 4.2.2)
// and the Origin rule of PROTOCOL.md. No subprotocol or extension is ever
// negotiated: Sec-WebSocket-Protocol/-Extensions (permessage-deflate) are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/block.h"
#include "http/request.h"

namespace chatd {

// Which cross-site origins may open a WebSocket; built once from
// --allow-origin flags. Owns its normalized copies of the origins.
struct OriginPolicy {
  bool allow_any = false;            // "--allow-origin '*'"
  std::vector<std::string> origins;  // normalized "scheme://host:port", host lowercased

  // Adds "*" or "scheme://host[:port]" (one trailing '/' tolerated); false if
  // it cannot be parsed. "http://a.example" and "http://A.example:80" are the same.
  bool add(std::string_view origin);
  // True if `origin` (an Origin header value) is allowed by the list or '*'.
  bool allows(std::string_view origin) const;
};

// Normalizes an origin to "scheme://host:port" (scheme and host lowercased,
// default port 80 for http/ws and 443 for https/wss filled in); empty if it is
// not of the form scheme "://" host [":" port] (e.g. "null").
std::string canonical_origin(std::string_view origin);

// True if `origin` names the same host and port as the Host header value
// `host`; a Host without a port means the default port of the origin's scheme.
bool same_origin_as_host(std::string_view origin, std::string_view host);

struct UpgradeCheck {
  int status;          // 101 to accept; else 400, 403 or 426 (make_error_response)
  std::string accept;  // Sec-WebSocket-Accept value when status == 101
};

// Validates a request routed to the WebSocket endpoint, in this order:
// GET (else 400), HTTP/1.1 (else 400), "Upgrade" lists websocket and
// "Connection" lists upgrade (else 400), exactly one Sec-WebSocket-Key that
// Base64-decodes to 16 bytes (else 400), a Sec-WebSocket-Version header (else
// 400) equal to 13 (else 426), then Origin: none, same host and port as Host,
// or allowed by `policy`, else 403 (two Origin headers: 403).
UpgradeCheck check_upgrade(const Request& req, const OriginPolicy& policy);

// Sec-WebSocket-Accept for a key: base64(sha1(key + RFC 6455 GUID)).
std::string websocket_accept(std::string_view key);

// The complete "101 Switching Protocols" response carrying `accept`.
BlockRef make_switching_protocols(std::string_view accept);

}  // namespace chatd
