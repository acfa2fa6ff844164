// Close frame rules (RFC 6455 5.5.1, 7.4): which codes a peer may send, and
// how a received close payload is judged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chatd {

// True when a peer may send `code` in a close frame: 1000-1003, 1007-1011,
// 1012-1014 (registered with IANA after the RFC: service restart, try again
// later, bad gateway; browsers send them, so rejecting them would fail real
// peers), and 3000-4999 (libraries and applications). 1004-1006 and 1015 are
// reserved or must never be sent; <1000, 1016-2999 and >=5000 are invalid.
bool close_code_valid(uint16_t code);

struct CloseInfo {
  bool valid;               // false: fail the connection with `code`
  uint16_t code;            // valid: the code to echo; invalid: 1002 or 1007
  std::string_view reason;  // valid: the peer's reason (UTF-8), may be empty
};

// Judges a received (unmasked) close payload: empty -> valid, echo 1000 with
// no reason (the peer gave no code, and 1005 must not be sent, so we answer
// with a normal close); 1 byte -> 1002; invalid code -> 1002; reason not
// valid UTF-8 -> 1007; otherwise valid, echoing the peer's code.
CloseInfo parse_close_payload(const uint8_t* p, size_t n);

}  // namespace chatd
