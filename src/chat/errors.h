// ChatError: every error a client message can earn, with its wire code and
// the short sentence sent with it (PROTOCOL.md, the error table).
#pragma once

#include <cstdint>
#include <string_view>

namespace chatd {

enum class ChatError : uint8_t {
  none,
  bad_json,
  bad_type,
  bad_field,
  not_joined,
  already_joined,
  nick_invalid,
  nick_taken,
  msg_invalid,
  room_invalid,
  room_limit,
  rate_limited,
  unavailable,
};

// Number of ChatError values, none included (for tables indexed by error).
inline constexpr size_t kChatErrorCount = size_t(ChatError::unavailable) + 1;

// The `code` string of an error frame, e.g. "nick_taken"; "" for none.
std::string_view error_code(ChatError e);

// The human `message` of an error frame, e.g. "that nickname is in use".
std::string_view error_message(ChatError e);

}  // namespace chatd
