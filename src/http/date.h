// HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
#pragma once

#include <ctime>
#include <optional>
#include <string_view>

namespace chatd {

inline constexpr size_t kHttpDateLen = 29;

// Writes the IMF-fixdate of `t` (UTC) into out[0, kHttpDateLen); no NUL.
void format_http_date(time_t t, char* out);

// Parses an IMF-fixdate; nullopt for anything else (the obsolete RFC 850 and
// asctime forms are not accepted: a conditional header we cannot read is ignored).
std::optional<time_t> parse_http_date(std::string_view s);

}  // namespace chatd
