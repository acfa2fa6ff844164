#include "ws/encoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws_test_util.h"

namespace chatd {
namespace {

using namespace test;

std::string hdr(std::initializer_list<int> b) {
  return std::string(b.begin(), b.end());
}

TEST(Encoder, AllThreeLengthForms) {
  struct {
    uint64_t len;
    std::string header;
  } cases[] = {
      {0, hdr({0x81, 0})},
      {125, hdr({0x81, 125})},
      {126, hdr({0x81, 126, 0, 126})},
      {127, hdr({0x81, 126, 0, 127})},
      {65535, hdr({0x81, 126, 0xFF, 0xFF})},
      {65536, hdr({0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0})},
      {0x123456789Aull, hdr({0x81, 127, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9A})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.len);
    uint8_t buf[kMaxFrameHeader];
    size_t n = write_frame_header(buf, Opcode::text, c.len);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), c.header);
    EXPECT_EQ(frame_header_len(c.len), c.header.size());
    // Client form: mask bit, then the mask after the length.
    uint8_t cbuf[kMaxClientFrameHeader];
    size_t cn = write_client_frame_header(cbuf, Opcode::text, c.len, kMask);
    ASSERT_EQ(cn, c.header.size() + 4);
    EXPECT_EQ(client_frame_header_len(c.len), cn);
    EXPECT_EQ(cbuf[1], static_cast<uint8_t>(c.header[1]) | 0x80);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(cbuf) + cn - 4, 4),
              std::string(reinterpret_cast<const char*>(kMask), 4));
  }
  uint8_t buf[kMaxFrameHeader];
  write_frame_header(buf, Opcode::continuation, 3, false);
  EXPECT_EQ(buf[0], 0x00);
  write_frame_header(buf, Opcode::pong, 3);
  EXPECT_EQ(buf[0], 0x8A);
}

TEST(Encoder, FrameInPlaceMatchesMakeFrameByteForByte) {
  for (size_t n : {0, 1, 125, 126, 65535, 65536, 70000}) {
    SCOPED_TRACE(n);
    std::string payload(n, 'p');
    if (n) payload[n - 1] = 'q';
    BlockRef body = BlockRef::make(kMaxFrameHeader + n, kMaxFrameHeader);
    body.append(payload);
    frame_in_place(body, Opcode::text);
    BlockRef made = make_frame(Opcode::text, payload);
    ASSERT_EQ(body->view(), made->view());
    uint8_t h[kMaxFrameHeader];
    size_t hn = write_frame_header(h, Opcode::text, n);
    EXPECT_EQ(body->view(), std::string(reinterpret_cast<char*>(h), hn) + payload);
    EXPECT_EQ(body->headroom(), kMaxFrameHeader - hn);  // the body never moved
  }
}

TEST(Encoder, CloseAndPongFrames) {
  BlockRef c = make_close_frame(1001, "bye");
  EXPECT_EQ(c->view(), hdr({0x88, 5, 0x03, 0xE9}) + "bye");
  EXPECT_EQ(make_close_frame(1000)->view(), hdr({0x88, 2, 0x03, 0xE8}));
  // A long reason is cut to fit 125 bytes, never inside a code point.
  std::string reason;
  for (int i = 0; i < 70; ++i) reason += "\xc3\xa9";  // 140 bytes
  BlockRef l = make_close_frame(1000, reason);
  ASSERT_EQ(static_cast<uint8_t>(l->view()[1]), 124);  // 123 would split a pair: 2 + 122
  EXPECT_TRUE(utf8_valid(l->view().substr(4)));
  EXPECT_EQ(make_pong("xyz")->view(), hdr({0x8A, 3}) + "xyz");
}

// Client encoder -> reader, for every opcode the reader accepts and all length forms.
TEST(Encoder, ClientFramesRoundTripThroughTheReader) {
  for (size_t n : {0, 1, 125, 126, 65535, 65536}) {
    std::string payload(n, 'r');
    BlockRef f = make_client_frame(Opcode::text, payload, kMask);
    EXPECT_EQ(std::string(f->view()), cframe(Opcode::text, payload));
    expect_events(f->view(), {text(payload)});
  }
  std::string s;
  s += make_client_frame(Opcode::text, "he", kMask, false)->view();
  s += make_client_frame(Opcode::ping, "?", kMask)->view();
  s += make_client_frame(Opcode::continuation, "llo", kMask)->view();
  s += make_client_frame(Opcode::pong, "!", kMask)->view();
  s += make_client_frame(Opcode::close, close_payload(1000, "done"), kMask)->view();
  expect_events(s, {ping("?"), text("hello"), pong("!"), closed(1000, "done")});
}

// Server encoder -> reader in client mode.
TEST(Encoder, ServerFramesRoundTripInClientMode) {
  for (size_t n : {0, 125, 126, 65535, 65536}) {
    std::string payload(n, 's');
    expect_events(make_frame(Opcode::text, payload)->view(), {text(payload)}, {},
                  MaskRule::forbidden);
  }
}

}  // namespace
}  // namespace chatd
