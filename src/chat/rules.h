// The chat's content rules (PROTOCOL.md, nick_invalid / msg_invalid / nick_taken).
// Inputs are UTF-8 as decoded from JSON; "white space" is the Unicode
// White_Space property, "control" is U+0000-U+001F and U+007F-U+009F.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace chatd {

inline constexpr size_t kMaxNickCodePoints = 32;
inline constexpr size_t kMaxMsgCodePoints = 2000;
inline constexpr size_t kMaxRoomName = 64;
// The room of a join or msg that names none (and of every version 1 client).
inline constexpr std::string_view kDefaultRoom = "general";

// True for the code points with the Unicode White_Space property.
bool is_unicode_space(char32_t cp);

// True for the C0 and C1 control characters and DEL (U+0000-U+001F, U+007F-U+009F).
bool is_control_char(char32_t cp);

// Trims surrounding white space; returns the trimmed view into `nick`, or
// nullopt (nick_invalid) when it is empty, over kMaxNickCodePoints, holds a
// control character, or is not valid UTF-8.
std::optional<std::string_view> validate_nick(std::string_view nick);

// True when msg is valid UTF-8, holds something other than white space, and
// has at most kMaxMsgCodePoints code points. The message is never rewritten.
bool validate_msg(std::string_view msg);

// True when name is 1 to kMaxRoomName bytes of a-z, 0-9, '-' and '_'
// (room_invalid otherwise). Checked before anything is allocated for a room.
bool validate_room(std::string_view name);

// Nick comparison for nick_taken: ASCII letters case-insensitively, every
// other byte exactly (so "Zoë" and "ZOË" are different nicks).
bool nick_equal(std::string_view a, std::string_view b);

}  // namespace chatd
