// Incremental HTTP/1.1 request-head parser, in the spirit of picohttpparser.
//
// The caller owns the bytes; `Request` only holds string_views into them, so
// they stay valid while the caller keeps the head in its buffer. The parser
// never reads a body: chatd serves GET/HEAD only.
//
// Choices where RFC 9112 leaves room (all answered with 400 unless noted):
// - Lines must end in CRLF. A bare LF still ends a line for finding the end of
//   the head (so the client gets its 400 at once rather than a timeout), but
//   the head is then rejected: accepting it invites request smuggling.
// - Leading empty lines before the request line are rejected (we never read a
//   body, so no stray CRLF after one can legitimately arrive).
// - obs-fold (a header line starting with SP/HTAB), white space before the
//   colon, a non-token field name, CTLs in a field value: 400.
// - HTTP/1.x with x >= 2 is served as HTTP/1.1 (RFC 9110 2.5); any other
//   major version (0.9, 2, 3) gets 505; a malformed version string gets 400.
// - HTTP/1.1 without exactly one Host header: 400.
// - A body (Content-Length > 0 or any Transfer-Encoding) on GET/HEAD: 400,
//   because we never read bodies and could not find the next request. On other
//   methods (routed to 405) the head parses, `has_body` is set and
//   keep_alive() says close, for the same reason. A malformed or repeated
//   Content-Length is 400.
// - The head, request line included, is limited to kMaxHeadBytes (431, never
//   414); more than kMaxHeaders header lines is 431.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chatd {

inline constexpr size_t kMaxHeadBytes = 8192;  // whole head, final CRLFCRLF included
inline constexpr size_t kMaxHeaders = 64;

struct Header {
  std::string_view name;
  std::string_view value;  // surrounding white space trimmed
};

struct Request {
  std::string_view method;  // case-sensitive token, e.g. "GET"
  std::string_view target;  // as sent: origin-form, absolute-form or "*"
  std::string_view path;    // target's path, query string and fragment removed
  std::string_view query;   // after '?', without it; empty if none
  int minor_version = 1;    // 0 or 1 (HTTP/1.x with x >= 2 is recorded as 1)
  bool has_body = false;    // Content-Length > 0 or Transfer-Encoding present
  size_t header_count = 0;
  std::array<Header, kMaxHeaders> headers;

  // The first header named `name` (ASCII case-insensitive), or nullptr.
  const Header* find(std::string_view name) const;
  // The value of the first header named `name`, or an empty view if absent.
  std::string_view header(std::string_view name) const;
  // How many headers are named `name`.
  size_t count(std::string_view name) const;
};

// Where the search for the end of the head stopped, so a head that arrives a
// byte at a time is scanned once in total. Reset it (or let parse_request do
// so on complete/error) before parsing the next request.
struct HeadScan {
  size_t scanned = 0;
  void reset() { scanned = 0; }
};

enum class ParseStatus : uint8_t { incomplete, complete, error };

struct ParseResult {
  ParseStatus status;
  size_t head_len = 0;  // complete: bytes of the head; consume exactly these
  int http_status = 0;  // error: 400, 431 or 505
};

// Parses the request head at the start of buf[0, len). `buf` must hold the
// same leading bytes on every call for one request (more may be appended).
// Returns incomplete (need more bytes), complete with head_len (req filled,
// its views point into buf; bytes after head_len belong to the next request
// or the WebSocket stream), or error with the status to answer before closing.
// Resets `scan` on complete and error.
ParseResult parse_request(const char* buf, size_t len, HeadScan& scan, Request& req);

// True if the comma-separated list `value` holds `token` (ASCII
// case-insensitive, optional white space around elements): "keep-alive, Upgrade".
bool list_has_token(std::string_view value, std::string_view token);

// True if any header named `name` holds `token` in its comma-separated list.
bool header_has_token(const Request& req, std::string_view name, std::string_view token);

// Whether the connection may stay open after answering `req`: HTTP/1.1 unless
// "Connection: close"; HTTP/1.0 only with "Connection: keep-alive"; never
// when the request carries a body we will not read.
bool keep_alive(const Request& req);

// ASCII case-insensitive equality.
bool ascii_iequals(std::string_view a, std::string_view b);

}  // namespace chatd
