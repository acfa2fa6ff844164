#include "chat/errors.h"

namespace chatd {

namespace {

struct ErrorText {
  std::string_view code;
  std::string_view message;
};

// Indexed by ChatError; one row per error so code and sentence stay together.
constexpr ErrorText kErrorText[kChatErrorCount] = {
    {"", ""},
    {"bad_json", "that message is not one JSON object"},
    {"bad_type", "the type field is missing or unknown"},
    {"bad_field", "a field is missing, of the wrong type or out of range"},
    {"not_joined", "join that room first"},
    {"already_joined", "you are already in that room"},
    {"nick_invalid", "that nickname is not allowed"},
    {"nick_taken", "that nickname is in use"},
    {"msg_invalid", "that message is empty or too long"},
    {"room_invalid", "room names are 1 to 64 of a-z, 0-9, - and _"},
    {"room_limit", "too many rooms"},
    {"rate_limited", "you are sending messages too fast"},
    {"unavailable", "the server cannot store messages just now, try again"},
};

}  // namespace

std::string_view error_code(ChatError e) {
  return kErrorText[size_t(e)].code;
}

std::string_view error_message(ChatError e) {
  return kErrorText[size_t(e)].message;
}

}  // namespace chatd
