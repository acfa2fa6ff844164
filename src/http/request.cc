#include "http/request.h"

#include <algorithm>
#include <cstring>

namespace chatd {

namespace {

// tchar of RFC 9110 section 5.6.2.
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(c); });
}

// field-vchar, SP, HTAB and obs-text: everything but CTLs and DEL.
bool is_field_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// Returns the length of the head (through its empty line) if it ends in
// buf[0, limit), else 0. Only bytes from `from` on are new; a blank line is an
// LF preceded by LF or CRLF, so the two bytes before `from` are looked back at.
size_t find_head_end(const char* buf, size_t limit, size_t from) {
  for (size_t i = from; i < limit; ++i) {
    const void* lf = std::memchr(buf + i, '\n', limit - i);
    if (!lf) return 0;
    i = static_cast<const char*>(lf) - buf;
    if (i >= 1 && buf[i - 1] == '\n') return i + 1;
    if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') return i + 1;
  }
  return 0;
}

// Takes the next CRLF-terminated line off `rest` into `line`; false on a bare LF.
bool next_line(std::string_view& rest, std::string_view& line) {
  size_t lf = rest.find('\n');
  if (lf == std::string_view::npos || lf == 0 || rest[lf - 1] != '\r') return false;
  line = rest.substr(0, lf - 1);
  rest.remove_prefix(lf + 1);
  return true;
}

// Splits the target into path and query; false if it is no form we accept.
bool split_target(Request& req) {
  std::string_view t = req.target;
  if (t == "*") {
    req.path = t;
    return true;
  }
  if (t[0] != '/') {
    // absolute-form (RFC 9112 3.2.2): a server must accept it; keep its path.
    size_t scheme_end = t.find("://");
    if (scheme_end == std::string_view::npos || !is_token(t.substr(0, scheme_end))) return false;
    size_t slash = t.find_first_of("/?#", scheme_end + 3);
    t = slash == std::string_view::npos ? std::string_view() : t.substr(slash);
    if (t.empty() || t[0] != '/') {
      req.path = "/";
      size_t q = t.find('?');
      if (q != std::string_view::npos) req.query = t.substr(q + 1, t.find('#') - q - 1);
      return true;
    }
  }
  size_t end = t.find_first_of("?#");
  req.path = t.substr(0, end);
  if (end != std::string_view::npos && t[end] == '?') {
    req.query = t.substr(end + 1);
    size_t hash = req.query.find('#');
    if (hash != std::string_view::npos) req.query = req.query.substr(0, hash);
  }
  return true;
}

// method SP request-target SP HTTP-version; returns 0 or the error status.
int parse_request_line(std::string_view line, Request& req) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return 400;
  req.method = line.substr(0, sp1);
  if (!is_token(req.method)) return 400;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return 400;
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (req.target.empty()) return 400;
  for (unsigned char c : req.target)
    if (c <= 0x20 || c >= 0x7f) return 400;
  std::string_view v = line.substr(sp2 + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !digit(v[5]) || v[6] != '.' || !digit(v[7]))
    return 400;
  if (v[5] != '1') return 505;
  req.minor_version = v[7] == '0' ? 0 : 1;
  return split_target(req) ? 0 : 400;
}

// One field line into req.headers; returns 0 or the error status.
int parse_header_line(std::string_view line, Request& req) {
  if (is_ows(line[0])) return 400;  // obs-fold
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return 400;
  std::string_view name = line.substr(0, colon);
  if (!is_token(name)) return 400;  // also catches white space before the colon
  std::string_view value = line.substr(colon + 1);
  for (unsigned char c : value)
    if (!is_field_char(c)) return 400;
  while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);
  if (req.header_count == kMaxHeaders) return 431;
  req.headers[req.header_count++] = {name, value};
  return 0;
}

// Host and body rules once all headers are in; returns 0 or the error status.
int check_semantics(Request& req) {
  size_t hosts = req.count("host");
  if (hosts > 1 || (req.minor_version == 1 && hosts == 0)) return 400;
  size_t lengths = req.count("content-length");
  if (lengths > 1) return 400;
  if (lengths == 1) {
    std::string_view cl = req.header("content-length");
    if (cl.empty() || cl.size() > 18) return 400;
    for (char c : cl)
      if (c < '0' || c > '9') return 400;
    if (cl.find_first_not_of('0') != std::string_view::npos) req.has_body = true;
  }
  if (req.find("transfer-encoding")) req.has_body = true;
  if (req.has_body && (req.method == "GET" || req.method == "HEAD")) return 400;
  return 0;
}

int parse_head(std::string_view head, Request& req) {
  req = Request{};
  std::string_view line;
  if (!next_line(head, line)) return 400;
  if (int status = parse_request_line(line, req)) return status;
  for (;;) {
    if (!next_line(head, line)) return 400;
    if (line.empty()) break;
    if (int status = parse_header_line(line, req)) return status;
  }
  return check_semantics(req);
}

}  // namespace

ParseResult parse_request(const char* buf, size_t len, HeadScan& scan, Request& req) {
  size_t limit = std::min(len, kMaxHeadBytes);
  size_t head_len = find_head_end(buf, limit, std::min(scan.scanned, limit));
  if (head_len == 0) {
    scan.scanned = limit;
    if (len < kMaxHeadBytes) return {ParseStatus::incomplete};
    scan.reset();
    return {ParseStatus::error, 0, 431};
  }
  scan.reset();
  if (int status = parse_head({buf, head_len}, req)) return {ParseStatus::error, 0, status};
  return {ParseStatus::complete, head_len};
}

}  // namespace chatd
