// UTF-8 validation and decoding (RFC 3629, Unicode 15 table 3-7): an
// incremental validator for WebSocket text that arrives in pieces, plus small
// whole-string helpers for the chat rules. No allocation anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chatd {

// Incremental validator: holds only the state of the one sequence that may be
// open across a feed boundary, so a code point split between two WebSocket
// fragments (or two reads) validates exactly as if it arrived whole. Inside a
// buffer, whole sequences are checked without that state (ASCII 8 bytes per
// step); the byte-wise state machine runs only at the buffer's two edges.
class Utf8Validator {
 public:
  // Feeds the next bytes; returns false at the first byte that makes the
  // stream invalid (overlong form, surrogate, > U+10FFFF, bad continuation,
  // 0xC0/0xC1/0xF5..0xFF). Once false, every later feed returns false.
  bool feed(const uint8_t* p, size_t n);
  // True when nothing invalid was fed and no sequence is left open.
  bool complete() const { return ok_ && need_ == 0; }
  // True once feed has returned false (until reset).
  bool failed() const { return !ok_; }
  // Forgets everything: ready for a new stream.
  void reset() { *this = Utf8Validator(); }

 private:
  // Advances the state machine by one byte; false if b makes the stream invalid.
  bool step(uint8_t b);

  uint8_t need_ = 0;   // continuation bytes still expected
  uint8_t lo_ = 0x80;  // allowed range of the next continuation byte: the first
  uint8_t hi_ = 0xBF;  // one after E0/ED/F0/F4 is narrowed (table 3-7)
  bool ok_ = true;
};

// True when s is entirely valid UTF-8.
bool utf8_valid(std::string_view s);

// Number of code points in s, which must be valid UTF-8 (counts lead bytes).
size_t utf8_length(std::string_view s);

// Decodes the code point at s[i] into cp and advances i past it. Returns false
// (i and cp unchanged) at the end of s or when s[i] does not start a valid,
// complete sequence.
bool utf8_next(std::string_view s, size_t& i, char32_t& cp);

}  // namespace chatd
