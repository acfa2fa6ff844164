// JsonReader: parses one client message (a JSON object) in place with the
// simdjson On-Demand parser, reusing one parser for the whole process.
//
// Ownership: the reader owns the simdjson parser and its string buffer; the
// caller owns the input bytes. Decoded strings in a ParsedMessage point into
// the reader's string buffer and stay valid until the next parse().
//
// The whole document is validated even though On-Demand is lazy: every field
// and every nested value is visited, and anything after the object is an
// error. Duplicate keys: the first occurrence of a known field decides (as
// simdjson's find_field would); later ones are validated, then ignored.
// Unknown fields are validated as JSON, then ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "chat/errors.h"

namespace chatd {

enum class MsgType : uint8_t { unknown, join, msg, leave, history, rooms };

// An integer field: present only when the message carried it.
struct IntField {
  bool present = false;
  uint64_t value = 0;
};

// A string field: present only when the message carried it.
struct TextField {
  bool present = false;
  std::string_view text;  // decoded
};

// A message as decoded, before any chat rule is applied. Only the fields its
// type uses are read; the others are validated as JSON and ignored.
struct ParsedMessage {
  ChatError error = ChatError::none;  // none, bad_json, bad_type or bad_field
  MsgType type = MsgType::unknown;    // known when error is none or bad_field
  TextField ref;                      // any type; at most kMaxRefBytes
  TextField room;                     // join, msg, leave, history
  TextField nick;                     // join
  TextField msg;                      // msg (required)
  TextField epoch;                    // join
  IntField since;                     // join
  IntField history;                   // join, 0..kMaxHistory
  IntField before;                    // history
  IntField limit;                     // history, 1..kMaxHistory
};

// PROTOCOL.md's bounds on the fields a reader can check without state.
inline constexpr size_t kMaxRefBytes = 64;
inline constexpr uint64_t kMaxHistory = 200;

// Nesting deeper than this (objects/arrays inside the message) is bad_json:
// it bounds the validator's recursion, and no chat message needs it.
inline constexpr int kMaxJsonDepth = 32;

// Default parser capacity: the WebSocket message limit (PROTOCOL.md, 64 KiB),
// so the parser never reallocates for a message the reader let through.
inline constexpr size_t kDefaultJsonCapacity = 64 * 1024;

class JsonReader {
 public:
  // Allocates the parser for documents up to `capacity` bytes (larger ones
  // make simdjson grow its buffers once, then they are reused).
  explicit JsonReader(size_t capacity = kDefaultJsonCapacity);
  ~JsonReader();
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // Parses json[0, len): requires kJsonPadding readable bytes after json+len
  // (never read as content, never written). Returns error none with the
  // type and its decoded fields, or bad_json / bad_type / bad_field (a field
  // of the wrong JSON type, an integer out of range, a ref too long, a msg
  // without its text); with bad_field, type and ref are set when they were
  // readable, so the error reply can echo the ref.
  ParsedMessage parse(const uint8_t* json, size_t len);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatd
