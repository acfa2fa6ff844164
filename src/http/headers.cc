// Header lookup and token-list helpers declared in http/request.h.
#include "http/request.h"

namespace chatd {

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

}  // namespace

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

const Header* Request::find(std::string_view name) const {
  for (size_t i = 0; i < header_count; ++i)
    if (ascii_iequals(headers[i].name, name)) return &headers[i];
  return nullptr;
}

std::string_view Request::header(std::string_view name) const {
  const Header* h = find(name);
  return h ? h->value : std::string_view();
}

size_t Request::count(std::string_view name) const {
  size_t n = 0;
  for (size_t i = 0; i < header_count; ++i) n += ascii_iequals(headers[i].name, name);
  return n;
}

bool list_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (ascii_iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool header_has_token(const Request& req, std::string_view name, std::string_view token) {
  for (size_t i = 0; i < req.header_count; ++i)
    if (ascii_iequals(req.headers[i].name, name) && list_has_token(req.headers[i].value, token))
      return true;
  return false;
}

bool keep_alive(const Request& req) {
  if (req.has_body) return false;
  if (header_has_token(req, "connection", "close")) return false;
  if (req.minor_version >= 1) return true;
  return header_has_token(req, "connection", "keep-alive");
}

}  // namespace chatd
