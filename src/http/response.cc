#include "http/response.h"

#include <ctime>

#include "http/date.h"

namespace chatd {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool status_forces_close(int status) {
  return status == 400 || status == 431 || status == 505;
}

std::string response_head(int status, std::string_view content_type, size_t content_length,
                          bool keep_alive, std::string_view extra_headers) {
  std::string h;
  h.reserve(192 + content_type.size() + extra_headers.size());
  h += "HTTP/1.1 ";
  h += std::to_string(status);
  h += ' ';
  h += reason_phrase(status);
  h += "\r\nDate: ";
  char date[kHttpDateLen];
  format_http_date(time(nullptr), date);
  h.append(date, kHttpDateLen);
  h += "\r\nServer: chatd\r\n";
  if (!content_type.empty()) {
    h += "Content-Type: ";
    h += content_type;
    h += "\r\n";
  }
  if (status >= 200 && status != 204 && status != 304) {
    h += "Content-Length: ";
    h += std::to_string(content_length);
    h += "\r\n";
  }
  h += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  h += extra_headers;
  h += "\r\n";
  return h;
}

BlockRef make_response(int status, std::string_view content_type, std::string_view body,
                       bool head_only, bool keep_alive, std::string_view extra_headers) {
  std::string head = response_head(status, content_type, body.size(), keep_alive, extra_headers);
  BlockRef b = BlockRef::make(head.size() + (head_only ? 0 : body.size()));
  if (!b) return b;
  b.append(head);
  if (!head_only) b.append(body);
  return b;
}

BlockRef make_error_response(int status, bool head_only, bool keep_alive) {
  std::string body(reason_phrase(status));
  body += '\n';
  std::string_view extra;
  if (status == 405) extra = kAllowHeader;
  if (status == 426) extra = kWsVersionHeader;
  if (status_forces_close(status)) keep_alive = false;
  return make_response(status, "text/plain; charset=utf-8", body, head_only, keep_alive, extra);
}

}  // namespace chatd
