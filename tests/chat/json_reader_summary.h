// Parsing a client message into an owned summary for the JsonReader tests:
// the reader's views die with its next parse, so each field is copied.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chat/json_reader.h"
#include "chat_test_util.h"

namespace chatd::test {

inline ParsedMessage parse(JsonReader& r, std::string_view text, char pad = '}') {
  Padded in(text, pad);
  return r.parse(in.data(), in.size());
}

// Absent fields are nullopt.
struct Summary {
  ChatError error;
  MsgType type;
  std::optional<std::string> ref, room, nick, msg, epoch;
  std::optional<uint64_t> since, history, before, limit;
};

inline std::optional<std::string> own(const TextField& f) {
  if (!f.present) return std::nullopt;
  return std::string(f.text);
}

inline std::optional<uint64_t> own(const IntField& f) {
  if (!f.present) return std::nullopt;
  return f.value;
}

// Parses a fresh padded copy of text with one reader shared by all cases,
// as in the server.
inline Summary summarize(std::string_view text) {
  static JsonReader reader;
  ParsedMessage m = parse(reader, text);
  return {m.error,      m.type,       own(m.ref),     own(m.room),   own(m.nick), own(m.msg),
          own(m.epoch), own(m.since), own(m.history), own(m.before), own(m.limit)};
}

}  // namespace chatd::test
