#include "cluster/event_body.h"

#include <charconv>

namespace chatd {
namespace {

// Reads a decimal number followed by one space from s, advancing it.
template <typename T>
bool take_number(std::string_view& s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end == s.data() || end == s.data() + s.size() || *end != ' ')
    return false;
  s.remove_prefix(size_t(end - s.data()) + 1);
  return true;
}

bool take_word(std::string_view& s, std::string_view& out) {
  size_t sp = s.find(' ');
  if (sp == 0 || sp == std::string_view::npos) return false;
  out = s.substr(0, sp);
  s.remove_prefix(sp + 1);
  return true;
}

}  // namespace

void encode_event_body(const EventBody& b, std::string& out) {
  out += b.kind;
  out += ' ';
  out += std::to_string(b.ts);
  out += ' ';
  out += b.node;
  out += ' ';
  out += std::to_string(b.cookie);
  out += ' ';
  out += std::to_string(b.nick.size());
  out += ' ';
  out += b.nick;
  out += b.text;
}

bool decode_event_body(std::string_view s, EventBody& out) {
  if (s.size() < 2 || s[1] != ' ' || (s[0] != 'j' && s[0] != 'l' && s[0] != 'm')) return false;
  out.kind = s[0];
  s.remove_prefix(2);
  size_t nick_len = 0;
  if (!take_number(s, out.ts) || !take_word(s, out.node) || !take_number(s, out.cookie) ||
      !take_number(s, nick_len) || nick_len == 0 || nick_len > s.size())
    return false;
  out.nick = s.substr(0, nick_len);
  out.text = s.substr(nick_len);
  if ((out.kind == 'm') == out.text.empty()) return false;  // text for a msg only
  return true;
}

}  // namespace chatd
