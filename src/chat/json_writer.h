// JSON output: a small escaping writer and the four server message shapes
// (welcome, system event, msg event, error), each encoded once into one block
// that becomes a whole WebSocket text frame.
//
// Every shape is written by one template run twice: first with a counting
// sink for the exact size, then into a block allocated once with that size
// plus kMaxFrameHeader of headroom, so the frame header is prepended in place
// and the block's capacity is what it carries (no 6x worst-case slack held in
// output queues).
//
// Escaping: `"` and `\` as \" and \\, the control characters U+0000-U+001F
// as \b \f \n \r \t or \u00XX; everything else, U+007F and all valid UTF-8
// included, passes through unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/block.h"
#include "chat/errors.h"
#include "chat/member.h"

namespace chatd {

// Exact bytes write_escaped() produces for s (quotes not included).
size_t escaped_size(std::string_view s);

// Writes s escaped (without quotes) at dst; returns the end of what it wrote.
char* write_escaped(char* dst, std::string_view s);

// What a welcome says (PROTOCOL.md, "Join, history and resume").
struct Welcome {
  std::string_view room;
  std::string_view nick;
  std::span<const Member> users;  // in join order, the joiner included
  std::string_view epoch;
  uint64_t last_id = 0;
  bool resumed = false;
  std::string_view ref;  // echoed when not empty
  bool v1 = false;       // the version 1 shape: type, nick and users only
};

// One line of a rooms listing.
struct RoomLine {
  std::string_view room;
  size_t users = 0;
  uint64_t last_id = 0;
};

// `{"type":"welcome","room":..,"nick":..,"users":[..],"epoch":..,"last_id":..,"resumed":..}`
// as one text frame (v1: `{"type":"welcome","nick":..,"users":[..]}`). Null only if malloc fails
// (so for every encoder here).
BlockRef encode_welcome(const Welcome& w);

// `{"type":"system","room":..,"event":<join|leave>,"nick":..,"text":"<nick>
// joined|left","id":..,"ts":..}`.
BlockRef encode_system(std::string_view room, bool join, std::string_view nick, uint64_t id,
                       int64_t ts);

// `{"type":"msg","room":..,"nick":..,"msg":..,"id":..,"ts":..}`.
BlockRef encode_msg(std::string_view room, std::string_view nick, std::string_view msg, uint64_t id,
                    int64_t ts);

// `{"type":"error","code":..,"message":..}`, with `room` when the request
// named one (room not null, even if empty) and `ref` when not empty.
BlockRef encode_error(ChatError e, const std::string_view* room = nullptr,
                      std::string_view ref = {});

// `{"type":"history","room":..,"events":[..],"more":..}`: the events are the
// payloads of the stored event frames, copied as they are (no re-encode).
BlockRef encode_history(std::string_view room, std::span<const BlockRef> events, bool more,
                        std::string_view ref);

// `{"type":"rooms","rooms":[{"room":..,"users":..,"last_id":..},..]}`.
BlockRef encode_rooms(std::span<const RoomLine> rooms, std::string_view ref);

}  // namespace chatd
