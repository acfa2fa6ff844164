// Whole HTTP responses as one Block (head and body), ready for the output queue.
#pragma once

#include <string>
#include <string_view>

#include "base/block.h"

namespace chatd {

// Extra header lines the error responses carry (each ends in CRLF).
inline constexpr std::string_view kAllowHeader = "Allow: GET, HEAD\r\n";
inline constexpr std::string_view kWsVersionHeader = "Sec-WebSocket-Version: 13\r\n";

// The reason phrase of `status` ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

// The head of a response: status line, Date, "Server: chatd", Content-Type
// (if not empty), Content-Length (except for 1xx and 304, which have no
// body and whose length would misdescribe the resource), Connection
// (keep-alive or close), `extra_headers` verbatim (each line ending in CRLF),
// and the empty line.
std::string response_head(int status, std::string_view content_type, size_t content_length,
                          bool keep_alive, std::string_view extra_headers = {});

// One block holding the response head and, unless head_only (HEAD requests),
// the body; Content-Length is the body's size either way.
BlockRef make_response(int status, std::string_view content_type, std::string_view body,
                       bool head_only, bool keep_alive, std::string_view extra_headers = {});

// A short text/plain error response for `status` (400/403/404/405/426/431/
// 500/503/505...). Adds "Allow: GET, HEAD" to 405 and "Sec-WebSocket-Version:
// 13" to 426. 400, 431 and 505 always close: after a malformed head we cannot
// trust where the next request starts.
BlockRef make_error_response(int status, bool head_only, bool keep_alive);

// True if after answering with `status` the connection must close regardless
// of keep-alive (the parser could not vouch for the stream).
bool status_forces_close(int status);

}  // namespace chatd
