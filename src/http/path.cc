#include "http/path.h"

namespace chatd {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += char(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool is_safe_path(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  if (p.find('\0') != std::string_view::npos || p.find('\\') != std::string_view::npos)
    return false;
  p.remove_prefix(1);
  for (;;) {
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    if (seg.empty() || seg[0] == '.') return false;  // also "." and ".."
    if (slash == std::string_view::npos) return true;
    p.remove_prefix(slash + 1);
  }
}

}  // namespace chatd
