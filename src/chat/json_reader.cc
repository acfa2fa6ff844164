#include "chat/json_reader.h"

#include <simdjson.h>

#include <cassert>

#include "ws/reader.h"

namespace chatd {

namespace od = simdjson::ondemand;

// The caller's padding (the WebSocket reader's promise) must cover what
// simdjson reads past the end of a document.
static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING,
              "simdjson needs its padding after the payload");

struct JsonReader::Impl {
  od::parser parser;
};

namespace {

// A known field seen at most once: the first occurrence decides.
struct Slot {
  enum class State : uint8_t { absent, string, other } state = State::absent;
  std::string_view text;
};

constexpr bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// True when `t` is exactly one JSON number (RFC 8259 section 6). simdjson's
// own number parsers reject valid but out-of-range numbers such as 1e999,
// which an ignored field may legitimately carry, so only the grammar counts.
bool is_json_number(std::string_view t) {
  size_t i = 0, n = t.size();
  if (i < n && t[i] == '-') ++i;
  if (i >= n) return false;
  if (t[i] == '0') {
    ++i;
  } else if (is_digit(t[i])) {
    while (i < n && is_digit(t[i])) ++i;
  } else {
    return false;
  }
  if (i < n && t[i] == '.') {
    if (++i >= n || !is_digit(t[i])) return false;
    while (i < n && is_digit(t[i])) ++i;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= n || !is_digit(t[i])) return false;
    while (i < n && is_digit(t[i])) ++i;
  }
  return i == n;
}

// A scalar's raw token runs up to the next structural character, so it may
// carry trailing white space; anything else after the literal is garbage.
bool is_valid_scalar(std::string_view raw) {
  while (!raw.empty() && is_json_space(raw.back())) raw.remove_suffix(1);
  return raw == "true" || raw == "false" || raw == "null" || is_json_number(raw);
}

bool validate_value(od::value v, int depth);

bool validate_object(od::object obj, int depth) {
  for (auto field_result : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
    if (!validate_value(field.value(), depth)) return false;
  }
  return true;
}

// Visits v completely: On-Demand skips what is not asked for without checking
// it, so every value is asked for.
bool validate_value(od::value v, int depth) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (depth >= kMaxJsonDepth || v.get_object().get(obj)) return false;
      return validate_object(obj, depth + 1);
    }
    case od::json_type::array: {
      od::array arr;
      if (depth >= kMaxJsonDepth || v.get_array().get(arr)) return false;
      for (auto element : arr) {
        od::value item;
        if (std::move(element).get(item) || !validate_value(item, depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      return !v.get_string().get(s);
    }
    default:
      return is_valid_scalar(v.raw_json_token());
  }
}

// Records the first occurrence of a known field; validates every occurrence.
bool take_field(od::value v, Slot& slot) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type != od::json_type::string) {
    if (!validate_value(v, 1)) return false;
    if (slot.state == Slot::State::absent) slot.state = Slot::State::other;
    return true;
  }
  std::string_view s;
  if (v.get_string().get(s)) return false;
  if (slot.state == Slot::State::absent) slot = {Slot::State::string, s};
  return true;
}

}  // namespace

JsonReader::JsonReader(size_t capacity) : impl_(std::make_unique<Impl>()) {
  // Allocated up front so the first messages do not pay for it; failure here
  // only means simdjson allocates on first use instead.
  simdjson::error_code ignored = impl_->parser.allocate(capacity);
  (void)ignored;
}

JsonReader::~JsonReader() = default;

ParsedMessage JsonReader::parse(const uint8_t* json, size_t len) {
  ParsedMessage out;
  out.error = ChatError::bad_json;
  od::document doc;
  od::object obj;
  if (impl_->parser.iterate(json, len, len + kJsonPadding).get(doc) || doc.get_object().get(obj)) {
    return out;
  }
  Slot type, nick, msg;
  for (auto field_result : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return out;
    Slot* slot = key == "type" ? &type : key == "nick" ? &nick : key == "msg" ? &msg : nullptr;
    bool ok = slot ? take_field(field.value(), *slot) : validate_value(field.value(), 1);
    if (!ok) return out;
  }
  // 3.0.1's document has no at_end(); its location is out of bounds exactly
  // when nothing (not even another value) follows the object.
  const char* rest;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) return out;

  out.error = ChatError::bad_type;
  if (type.state != Slot::State::string) return out;
  if (type.text == "join") {
    out.type = MsgType::join;
  } else if (type.text == "msg") {
    out.type = MsgType::msg;
  } else {
    return out;
  }
  const Slot& needed = out.type == MsgType::join ? nick : msg;
  if (needed.state != Slot::State::string) {
    out.error = ChatError::bad_field;
    return out;
  }
  (out.type == MsgType::join ? out.nick : out.msg) = needed.text;
  out.error = ChatError::none;
  return out;
}

}  // namespace chatd
