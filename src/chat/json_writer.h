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

// `{"type":"welcome","nick":...,"users":[...]}` as one text frame: users in
// the given order. Null only if malloc fails.
BlockRef encode_welcome(std::string_view nick, std::span<const Member> users);

// `{"type":"system","event":<join|leave>,"nick":...,"text":"<nick> joined|left","id":..,"ts":..}`.
BlockRef encode_system(bool join, std::string_view nick, uint64_t id, int64_t ts);

// `{"type":"msg","nick":...,"msg":...,"id":..,"ts":..}` as one text frame.
BlockRef encode_msg(std::string_view nick, std::string_view msg, uint64_t id, int64_t ts);

// `{"type":"error","code":...,"message":...}` as one text frame.
BlockRef encode_error(ChatError e);

}  // namespace chatd
