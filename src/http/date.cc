#include "http/date.h"

#include <cstring>

namespace chatd {

namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void two(char* p, int v) {
  p[0] = char('0' + v / 10 % 10);
  p[1] = char('0' + v % 10);
}

// Reads `n` digits at s[at]; -1 if any is not a digit.
int digits(std::string_view s, size_t at, size_t n) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

void format_http_date(time_t t, char* out) {
  tm u;
  gmtime_r(&t, &u);
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  std::memcpy(out, kDays[u.tm_wday], 3);
  std::memcpy(out + 3, ", ", 2);
  two(out + 5, u.tm_mday);
  out[7] = ' ';
  std::memcpy(out + 8, kMonths[u.tm_mon], 3);
  out[11] = ' ';
  int year = u.tm_year + 1900;
  two(out + 12, year / 100);
  two(out + 14, year % 100);
  out[16] = ' ';
  two(out + 17, u.tm_hour);
  out[19] = ':';
  two(out + 20, u.tm_min);
  out[22] = ':';
  two(out + 23, u.tm_sec);
  std::memcpy(out + 25, " GMT", 4);
}

std::optional<time_t> parse_http_date(std::string_view s) {
  if (s.size() != kHttpDateLen || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' ||
      s[16] != ' ' || s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  int mon = -1;
  for (int i = 0; i < 12; ++i)
    if (s.substr(8, 3) == kMonths[i]) mon = i;
  int day = digits(s, 5, 2), year = digits(s, 12, 4);
  int hour = digits(s, 17, 2), min = digits(s, 20, 2), sec = digits(s, 23, 2);
  if (mon < 0 || day < 1 || day > 31 || year < 1970 || hour < 0 || hour > 23 || min < 0 ||
      min > 59 || sec < 0 || sec > 60)
    return std::nullopt;
  tm u = {};
  u.tm_year = year - 1900;
  u.tm_mon = mon;
  u.tm_mday = day;
  u.tm_hour = hour;
  u.tm_min = min;
  u.tm_sec = sec;
  return timegm(&u);
}

}  // namespace chatd
