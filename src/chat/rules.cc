#include "chat/rules.h"

#include "codec/utf8.h"

namespace chatd {

bool is_unicode_space(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_control_char(char32_t cp) {
  return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F);
}

namespace {

// Code point ending at s[end) (s valid UTF-8, end > 0); sets start to its first byte.
char32_t prev_code_point(std::string_view s, size_t end, size_t& start) {
  start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  size_t i = start;
  char32_t cp = 0;
  utf8_next(s, i, cp);
  return cp;
}

// True when valid UTF-8 s holds a code point that is not white space; stops
// at the first one, which in real messages is almost always the first byte.
bool has_non_space(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (!is_unicode_space(b)) return true;
      ++i;
      continue;
    }
    if (!utf8_next(s, i, cp)) return false;  // unreachable for valid input
    if (!is_unicode_space(cp)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> validate_nick(std::string_view nick) {
  if (!utf8_valid(nick)) return std::nullopt;
  size_t begin = 0, end = nick.size();
  char32_t cp;
  for (size_t i = begin; utf8_next(nick, i, cp) && is_unicode_space(cp);) begin = i;
  while (end > begin) {
    size_t start;
    if (!is_unicode_space(prev_code_point(nick, end, start))) break;
    end = start;
  }
  std::string_view trimmed = nick.substr(begin, end - begin);
  if (trimmed.empty()) return std::nullopt;
  size_t count = 0;
  for (size_t i = 0; utf8_next(trimmed, i, cp);) {
    if (++count > kMaxNickCodePoints || is_control_char(cp)) return std::nullopt;
  }
  return trimmed;
}

bool validate_msg(std::string_view msg) {
  if (!utf8_valid(msg)) return false;
  // A code point takes at least one byte, so a short message needs no count.
  if (msg.size() > kMaxMsgCodePoints && utf8_length(msg) > kMaxMsgCodePoints) return false;
  return has_non_space(msg);
}

bool nick_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
    if (x != y) return false;
  }
  return true;
}

bool validate_room(std::string_view name) {
  if (name.empty() || name.size() > kMaxRoomName) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace chatd
