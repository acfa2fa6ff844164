// Helpers shared by the chat tests: padded input buffers (the reader's
// contract) and unwrapping the framed blocks the chat layer produces.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/block.h"
#include "ws/frame.h"
#include "ws/reader.h"

namespace chatd::test {

// A copy of text followed by exactly kJsonPadding bytes of `pad`, allocated
// to the byte so ASan flags any read past the promised padding.
class Padded {
 public:
  explicit Padded(std::string_view text, char pad = '}')
      : bytes_(text.size() + kJsonPadding, static_cast<uint8_t>(pad)), len_(text.size()) {
    std::copy(text.begin(), text.end(), bytes_.begin());
  }
  uint8_t* data() { return bytes_.data(); }
  size_t size() const { return len_; }
  std::string_view all() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t len_;
};

// The payload of a block holding exactly one whole unmasked text frame;
// fails the test (and returns "") otherwise.
inline std::string frame_payload(const BlockRef& b) {
  if (!b) {
    ADD_FAILURE() << "null block";
    return "";
  }
  FrameHeader h{};
  auto p = reinterpret_cast<const uint8_t*>(b->data());
  HeaderResult r = parse_frame_header(p, b->size(), h, MaskRule::forbidden);
  EXPECT_EQ(r.status, HeaderStatus::ok);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.opcode, Opcode::text);
  EXPECT_EQ(h.header_len + h.payload_len, b->size()) << "one frame, nothing after it";
  if (r.status != HeaderStatus::ok || h.header_len + h.payload_len != b->size()) return "";
  return std::string(b->data() + h.header_len, h.payload_len);
}

// The payload of one text message sent as `pieces` in order: one whole
// unmasked frame, or a text frame with FIN=0, continuations and a last one
// with FIN=1 (RFC 6455 section 5.4), with nothing else in the stream; fails
// the test (and returns "") otherwise.
inline std::string message_payload(std::span<const BlockSlice> pieces) {
  std::string wire;
  for (const BlockSlice& p : pieces) wire.append(p.view());
  std::string payload;
  size_t at = 0;
  for (bool first = true;; first = false) {
    FrameHeader h{};
    auto p = reinterpret_cast<const uint8_t*>(wire.data()) + at;
    HeaderResult r = parse_frame_header(p, wire.size() - at, h, MaskRule::forbidden);
    EXPECT_EQ(r.status, HeaderStatus::ok) << "at " << at;
    if (r.status != HeaderStatus::ok || h.header_len + h.payload_len > wire.size() - at) {
      ADD_FAILURE() << "a cut frame at " << at;
      return "";
    }
    EXPECT_EQ(h.opcode, first ? Opcode::text : Opcode::continuation) << "at " << at;
    payload.append(wire, at + h.header_len, h.payload_len);
    at += h.header_len + h.payload_len;
    if (h.fin) break;
  }
  EXPECT_EQ(at, wire.size()) << "nothing after the final fragment";
  return payload;
}

// The UTF-8 encoding of one code point (surrogates included, for tests
// that need invalid text too).
inline std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace chatd::test
