// The little of HTTP, RFC 6455 and the chat protocol that floor speaks: just
// enough for build/chat_load, with no validation. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace floorsrv {

// Returns the 101 answer for a complete request head, or "" when the head
// has no Sec-WebSocket-Key (the caller then answers 400 and closes).
std::string upgrade_answer(std::string_view head);

// One client frame found at the front of a buffer.
struct ClientFrame {
  enum class Status : uint8_t { need_more, ok, bad } status = Status::need_more;
  uint8_t opcode = 0;
  size_t size = 0;         // header and payload
  size_t payload_off = 0;  // payload starts here, unmasked in place
  size_t payload_len = 0;
};

// Decodes the frame at p[0, n) and unmasks its payload in place. need_more
// while it is incomplete; bad when it is unmasked or longer than max_payload.
ClientFrame take_frame(uint8_t* p, size_t n, size_t max_payload);

// Writes an unmasked FIN text frame header for a payload of len bytes into
// out (at least 10 bytes); returns the header length.
size_t text_header(uint8_t* out, size_t len);

// The fields floor reads from a client message: raw JSON string contents
// (escapes left as they are, so they can be copied into an event unchanged).
struct ClientMsg {
  std::string_view type, nick, msg;
};

// Finds "type", "nick" and "msg" string values in one JSON object, trusting
// that it is one (floor is not a validator); missing ones stay empty.
ClientMsg scan_msg(std::string_view text);

}  // namespace floorsrv
