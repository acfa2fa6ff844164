#include "ws/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> b) {
  return {b.begin(), b.end()};
}

TEST(FrameHeader, DecodesEveryLengthForm) {
  struct {
    const char* name;
    std::vector<uint8_t> in;
    uint64_t len;
    uint8_t header_len;
  } cases[] = {
      {"7-bit 0", bytes({0x81, 0x80, 1, 2, 3, 4}), 0, 6},
      {"7-bit 125", bytes({0x81, 0xFD, 1, 2, 3, 4}), 125, 6},
      {"16-bit 126", bytes({0x81, 0xFE, 0, 126, 1, 2, 3, 4}), 126, 8},
      {"16-bit 65535", bytes({0x81, 0xFE, 0xFF, 0xFF, 1, 2, 3, 4}), 65535, 8},
      {"16-bit non-minimal 5", bytes({0x81, 0xFE, 0, 5, 1, 2, 3, 4}), 5, 8},
      {"64-bit 65536", bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}), 65536, 14},
      {"64-bit max",
       bytes({0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}),
       0x7FFFFFFFFFFFFFFFull, 14},
      {"64-bit non-minimal 0", bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}), 0, 14},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FrameHeader h;
    HeaderResult r = parse_frame_header(c.in.data(), c.in.size(), h);
    ASSERT_EQ(r.status, HeaderStatus::ok);
    EXPECT_TRUE(h.fin);
    EXPECT_EQ(h.opcode, Opcode::text);
    EXPECT_TRUE(h.masked);
    EXPECT_EQ(h.payload_len, c.len);
    EXPECT_EQ(h.header_len, c.header_len);
    EXPECT_EQ(std::vector<uint8_t>(h.mask, h.mask + 4), bytes({1, 2, 3, 4}));
    // Every proper prefix asks for the bytes the header still needs.
    for (size_t n = 0; n < c.in.size(); ++n) {
      HeaderResult p = parse_frame_header(c.in.data(), n, h);
      ASSERT_EQ(p.status, HeaderStatus::need_more) << n;
      EXPECT_EQ(p.need_bytes, n < 2 ? 2u : c.header_len) << n;
    }
  }
}

TEST(FrameHeader, EveryFaultMapsToItsCloseCode) {
  struct {
    const char* name;
    std::vector<uint8_t> in;
    MaskRule rule;
    FrameFault fault;
  } cases[] = {
      {"rsv1", bytes({0xC1, 0x80}), MaskRule::required, FrameFault::reserved_bits},
      {"rsv2", bytes({0xA1, 0x80}), MaskRule::required, FrameFault::reserved_bits},
      {"rsv3", bytes({0x91, 0x80}), MaskRule::required, FrameFault::reserved_bits},
      {"opcode 3", bytes({0x83, 0x80}), MaskRule::required, FrameFault::reserved_opcode},
      {"opcode 7", bytes({0x87, 0x80}), MaskRule::required, FrameFault::reserved_opcode},
      {"opcode 11", bytes({0x8B, 0x80}), MaskRule::required, FrameFault::reserved_opcode},
      {"opcode 15", bytes({0x8F, 0x80}), MaskRule::required, FrameFault::reserved_opcode},
      {"unmasked", bytes({0x81, 0x00}), MaskRule::required, FrameFault::unmasked},
      {"masked from server", bytes({0x81, 0x80}), MaskRule::forbidden, FrameFault::masked},
      {"ping not fin", bytes({0x09, 0x80}), MaskRule::required, FrameFault::control_fragmented},
      {"close not fin", bytes({0x08, 0x80}), MaskRule::required, FrameFault::control_fragmented},
      {"pong 126", bytes({0x8A, 0xFE}), MaskRule::required, FrameFault::control_too_long},
      {"ping 127", bytes({0x89, 0xFF}), MaskRule::required, FrameFault::control_too_long},
      {"top bit", bytes({0x81, 0xFF, 0x80}), MaskRule::required, FrameFault::length_top_bit},
      {"top bit full", bytes({0x82, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}),
       MaskRule::required, FrameFault::length_top_bit},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FrameHeader h;
    HeaderResult r = parse_frame_header(c.in.data(), c.in.size(), h, c.rule);
    ASSERT_EQ(r.status, HeaderStatus::error);
    EXPECT_EQ(r.fault, c.fault);
    EXPECT_EQ(r.close_code, 1002);
    EXPECT_EQ(fault_close_code(c.fault), 1002);
  }
}

TEST(FrameHeader, AcceptsEveryValidOpcodeAndFlags) {
  for (int op : {0, 1, 2, 8, 9, 10}) {
    for (int fin : {0, 1}) {
      if (!fin && op >= 8) continue;
      uint8_t in[6] = {static_cast<uint8_t>((fin << 7) | op), 0x80 | 125, 9, 8, 7, 6};
      if (op >= 8) in[1] = 0x80 | 125;
      FrameHeader h;
      ASSERT_EQ(parse_frame_header(in, 6, h).status, HeaderStatus::ok) << op;
      EXPECT_EQ(static_cast<int>(h.opcode), op);
      EXPECT_EQ(h.fin, fin == 1);
      EXPECT_EQ(h.rsv, 0);
    }
  }
  // Server frames (unmasked) for the client side.
  uint8_t s[2] = {0x81, 0x05};
  FrameHeader h;
  ASSERT_EQ(parse_frame_header(s, 2, h, MaskRule::forbidden).status, HeaderStatus::ok);
  EXPECT_FALSE(h.masked);
  EXPECT_EQ(h.header_len, 2);
  EXPECT_EQ(h.payload_len, 5u);
}

TEST(FrameHeader, ControlPredicate) {
  EXPECT_FALSE(is_control(Opcode::continuation));
  EXPECT_FALSE(is_control(Opcode::text));
  EXPECT_FALSE(is_control(Opcode::binary));
  EXPECT_TRUE(is_control(Opcode::close));
  EXPECT_TRUE(is_control(Opcode::ping));
  EXPECT_TRUE(is_control(Opcode::pong));
}

}  // namespace
}  // namespace chatd
