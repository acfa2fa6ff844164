#include "app/config_values.h"

#include <cctype>

#include "app/config.h"

namespace chatd {
namespace {

char lower(char c) {
  return char(std::tolower(static_cast<unsigned char>(c)));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool valid_port_text(std::string_view p) {
  auto n = parse_uint(p);
  return n && *n >= 1 && *n <= config_limits::kMaxPort;
}

}  // namespace

std::optional<uint64_t> parse_uint(std::string_view s) {
  // 19 digits always fit in 64 bits, so no overflow check is needed.
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  return v;
}

std::optional<uint64_t> parse_bytes(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  std::string_view unit = s.substr(digits);
  uint64_t mult;
  if (unit.empty()) {
    mult = 1;
  } else if (iequals(unit, "k") || iequals(unit, "kib")) {
    mult = 1024;
  } else if (iequals(unit, "m") || iequals(unit, "mib")) {
    mult = 1024 * 1024;
  } else {
    return std::nullopt;
  }
  auto v = parse_uint(s.substr(0, digits));
  if (!v || *v > UINT64_MAX / mult) return std::nullopt;
  return *v * mult;
}

std::optional<bool> parse_switch(std::string_view s) {
  for (const char* yes : {"yes", "true", "on", "1"})
    if (iequals(s, yes)) return true;
  for (const char* no : {"no", "false", "off", "0"})
    if (iequals(s, no)) return false;
  return std::nullopt;
}

std::string format_bytes(uint64_t n) {
  constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;
  if (n >= kMiB && n % kMiB == 0) return std::to_string(n / kMiB) + " MiB";
  if (n >= kKiB && n % kKiB == 0) return std::to_string(n / kKiB) + " KiB";
  return std::to_string(n);
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > config_limits::kMaxHostLength) return false;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '%' && c != '_')
      return false;
  return true;
}

std::optional<std::string> normalize_origin(std::string_view s) {
  if (s == "*") return std::string(s);
  std::string o;
  for (char c : s) o += lower(c);
  if (!o.empty() && o.back() == '/') o.pop_back();
  size_t sep = o.find("://");
  if (sep == std::string::npos) return std::nullopt;
  std::string_view scheme = std::string_view(o).substr(0, sep);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view rest = std::string_view(o).substr(sep + 3);
  if (!rest.empty() && rest.front() == '[') {  // an IPv6 literal: [v6] or [v6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    if (!valid_host(rest.substr(1, close - 1))) return std::nullopt;
    std::string_view tail = rest.substr(close + 1);
    if (tail.empty()) return o;
    if (tail.front() != ':' || !valid_port_text(tail.substr(1))) return std::nullopt;
    return o;
  }
  size_t colon = rest.find(':');
  std::string_view host = rest.substr(0, colon);
  if (host.empty() || !valid_host(host)) return std::nullopt;
  if (colon != std::string_view::npos && !valid_port_text(rest.substr(colon + 1)))
    return std::nullopt;
  return o;
}

void split_list(std::string_view s, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(", \t", i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
}

}  // namespace chatd
