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
  enum class State : uint8_t { absent, string, number, other } state = State::absent;
  std::string_view text;  // the decoded string, or a number's raw token
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
  if (type == od::json_type::number) {
    std::string_view raw = v.raw_json_token();
    if (!is_valid_scalar(raw)) return false;
    while (!raw.empty() && is_json_space(raw.back())) raw.remove_suffix(1);
    if (slot.state == Slot::State::absent) slot = {Slot::State::number, raw};
    return true;
  }
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

// The known fields, in the order of ParsedMessage.
enum Key : uint8_t {
  kType,
  kRef,
  kRoom,
  kNick,
  kMsg,
  kEpoch,
  kSince,
  kHistory,
  kBefore,
  kLimit,
  kKeys
};

Key key_of(std::string_view k) {
  static constexpr std::string_view kNames[kKeys] = {
      "type", "ref", "room", "nick", "msg", "epoch", "since", "history", "before", "limit"};
  for (uint8_t i = 0; i < kKeys; ++i) {
    if (k == kNames[i]) return Key(i);
  }
  return kKeys;
}

MsgType type_of(std::string_view t) {
  if (t == "join") return MsgType::join;
  if (t == "msg") return MsgType::msg;
  if (t == "leave") return MsgType::leave;
  if (t == "history") return MsgType::history;
  if (t == "rooms") return MsgType::rooms;
  return MsgType::unknown;
}

// A string field: absent is fine, a string is taken, anything else is bad.
bool read_text(const Slot& slot, TextField& out) {
  if (slot.state == Slot::State::absent) return true;
  if (slot.state != Slot::State::string) return false;
  out = {true, slot.text};
  return true;
}

// An integer field: a JSON number written as digits only (no sign, fraction
// or exponent), within [lo, hi]; absent is fine.
bool read_int(const Slot& slot, uint64_t lo, uint64_t hi, IntField& out) {
  if (slot.state == Slot::State::absent) return true;
  if (slot.state != Slot::State::number || slot.text.empty() || slot.text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : slot.text) {
    if (!is_digit(c)) return false;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v < lo || v > hi) return false;
  out = {true, v};
  return true;
}

// Reads the fields `m.type` uses; false means bad_field.
bool read_fields(const Slot (&slots)[kKeys], ParsedMessage& m) {
  constexpr uint64_t kAny = UINT64_MAX;
  switch (m.type) {
    case MsgType::join:
      return read_text(slots[kRoom], m.room) && read_text(slots[kNick], m.nick) &&
             read_text(slots[kEpoch], m.epoch) && read_int(slots[kSince], 0, kAny, m.since) &&
             read_int(slots[kHistory], 0, kMaxHistory, m.history);
    case MsgType::msg:
      return read_text(slots[kRoom], m.room) && read_text(slots[kMsg], m.msg) && m.msg.present;
    case MsgType::leave:
      return read_text(slots[kRoom], m.room);
    case MsgType::history:
      return read_text(slots[kRoom], m.room) && read_int(slots[kBefore], 0, kAny, m.before) &&
             read_int(slots[kLimit], 1, kMaxHistory, m.limit);
    case MsgType::rooms:
    case MsgType::unknown:
      return true;
  }
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
  Slot slots[kKeys];
  for (auto field_result : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return out;
    Key k = key_of(key);
    bool ok = k < kKeys ? take_field(field.value(), slots[k]) : validate_value(field.value(), 1);
    if (!ok) return out;
  }
  // 3.0.1's document has no at_end(); its location is out of bounds exactly
  // when nothing (not even another value) follows the object.
  const char* rest;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) return out;

  // The ref is read first so that any later error can still carry it.
  out.error = ChatError::bad_field;
  TextField ref;
  if (!read_text(slots[kRef], ref) || ref.text.size() > kMaxRefBytes) return out;
  out.ref = ref;
  out.error = ChatError::bad_type;
  if (slots[kType].state != Slot::State::string) return out;
  out.type = type_of(slots[kType].text);
  if (out.type == MsgType::unknown) return out;
  out.error = ChatError::bad_field;
  if (!read_fields(slots, out)) return out;
  out.error = ChatError::none;
  return out;
}

}  // namespace chatd
