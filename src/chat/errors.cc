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
    {"bad_field", "a required field is missing or not a string"},
    {"not_joined", "join the chat before sending messages"},
    {"already_joined", "you have already joined"},
    {"nick_invalid", "that nickname is not allowed"},
    {"nick_taken", "that nickname is in use"},
    {"msg_invalid", "that message is empty or too long"},
    {"rate_limited", "you are sending messages too fast"},
};

}  // namespace

std::string_view error_code(ChatError e) {
  return kErrorText[size_t(e)].code;
}

std::string_view error_message(ChatError e) {
  return kErrorText[size_t(e)].message;
}

}  // namespace chatd
