#include "ws/reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws_test_util.h"

namespace chatd {
namespace {

using namespace test;

std::string raw(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST(WsReader, SingleTextFrameAtEveryLengthEdge) {
  for (size_t n : {0, 1, 125, 126, 127, 1000, 65535, 65536}) {
    SCOPED_TRACE(n);
    std::string msg(n, 'x');
    if (n > 2) msg[n / 2] = '\xc3', msg[n / 2 + 1] = '\xa9';  // a code point in the middle
    expect_events(cframe(Opcode::text, msg), {text(msg)});
  }
}

TEST(WsReader, MessageAtTheLimitAndOneOver) {
  ReaderLimits lim{1000, 16};
  const std::string at(1000, 'a'), over(1001, 'a');
  expect_events(cframe(Opcode::text, at), {text(at)}, lim);
  expect_events(cframe(Opcode::text, over), {fail(1009)}, lim);
  // Default limit, 64 KiB: one over fails on the header alone, before the payload.
  const std::string big = cframe(Opcode::text, std::string(65537, 'a'));
  EXPECT_EQ(feed(big.substr(0, 14), {}), std::vector<Ev>{fail(1009)});
  // Reassembled: 600 + 400 fits, 600 + 401 does not (fails at the second header).
  expect_events(cframe(Opcode::text, at.substr(0, 600), false) +
                    cframe(Opcode::continuation, at.substr(0, 400)),
                {text(at)}, lim);
  const std::string second = cframe(Opcode::continuation, over.substr(0, 401));
  expect_events(cframe(Opcode::text, at.substr(0, 600), false) + second, {fail(1009)}, lim);
  EXPECT_EQ(feed(cframe(Opcode::text, at.substr(0, 600), false) + second.substr(0, 8), {}, lim),
            std::vector<Ev>{fail(1009)});
}

TEST(WsReader, EveryOpcode) {
  struct {
    uint8_t op;
    std::vector<Ev> want;
  } cases[] = {
      {0, {fail(1002)}},       {1, {text("hi")}},  {2, {fail(1003)}},  {3, {fail(1002)}},
      {4, {fail(1002)}},       {5, {fail(1002)}},  {6, {fail(1002)}},  {7, {fail(1002)}},
      {8, {closed(1000, "")}}, {9, {ping("hi")}},  {10, {pong("hi")}}, {11, {fail(1002)}},
      {12, {fail(1002)}},      {13, {fail(1002)}}, {14, {fail(1002)}}, {15, {fail(1002)}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(int(c.op));
    std::string payload = c.op == 8 ? close_payload(1000) : "hi";
    expect_events(cframe(static_cast<Opcode>(c.op), payload), c.want);
  }
}

TEST(WsReader, HeaderViolations) {
  const std::string ok = cframe(Opcode::text, "hi");
  struct {
    const char* name;
    std::string stream;
    uint16_t code;
  } cases[] = {
      {"rsv1", std::string(1, char(ok[0] | 0x40)) + ok.substr(1), 1002},
      {"rsv2", std::string(1, char(ok[0] | 0x20)) + ok.substr(1), 1002},
      {"rsv3", std::string(1, char(ok[0] | 0x10)) + ok.substr(1), 1002},
      {"unmasked", raw({0x81, 0x02, 'h', 'i'}), 1002},
      {"64-bit length top bit", raw({0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}), 1002},
      {"ping 126 bytes", cframe(Opcode::ping, std::string(126, 'p')), 1002},
      {"ping not fin", cframe(Opcode::ping, "p", false), 1002},
      {"close not fin", cframe(Opcode::close, close_payload(1000), false), 1002},
      {"binary", cframe(Opcode::binary, "\x01\x02"), 1003},
      {"binary first fragment", cframe(Opcode::binary, "\x01", false), 1003},
      {"continuation first", cframe(Opcode::continuation, "x"), 1002},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expect_events(c.stream, {fail(c.code)});
  }
  // Decided on the first bytes: the rest of the frame is never waited for.
  EXPECT_EQ(feed(raw({0x81, 0xFF, 0x80}), {}), std::vector<Ev>{fail(1002)});
  EXPECT_EQ(feed(raw({0x82, 0x85, 1, 2, 3, 4}), {}), std::vector<Ev>{fail(1003)});
}

TEST(WsReader, NonMinimalLengthsAreAccepted) {
  const uint8_t* m = kMask;
  std::string s16 = raw({0x81, 0xFE, 0, 2, m[0], m[1], m[2], m[3]});
  std::string s64 = raw({0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 2, m[0], m[1], m[2], m[3]});
  const std::string body = {char('h' ^ m[0]), char('i' ^ m[1])};
  expect_events(s16 + body, {text("hi")});
  expect_events(s64 + body, {text("hi")});
}

TEST(WsReader, ControlFramesAtTheirEdgesAndMasks) {
  const uint8_t zero[4] = {0, 0, 0, 0}, ones[4] = {0xFF, 0xFF, 0xFF, 0xFF};
  for (const uint8_t* mask : {kMask, zero, ones}) {
    expect_events(cframe(Opcode::ping, "", true, mask), {ping("")});
    expect_events(cframe(Opcode::ping, std::string(125, 'q'), true, mask),
                  {ping(std::string(125, 'q'))});
    expect_events(cframe(Opcode::pong, std::string("\x00\xff", 2), true, mask),
                  {pong(std::string("\x00\xff", 2))});
    expect_events(cframe(Opcode::text, "masked text!", true, mask), {text("masked text!")});
  }
}

TEST(WsReader, FragmentsDownToOneByteWithControlFramesBetween) {
  const std::string msg = "{\"type\":\"msg\",\"msg\":\"Ol\xc3\xa1 \xf0\x9f\x98\x80\"}";
  std::string stream;
  std::vector<Ev> want;
  for (size_t i = 0; i < msg.size(); ++i) {
    Opcode op = i == 0 ? Opcode::text : Opcode::continuation;
    stream += cframe(op, msg.substr(i, 1), i + 1 == msg.size());
    if (i + 1 == msg.size()) want.push_back(text(msg));
    if (i % 7 == 3) {
      stream += cframe(Opcode::ping, std::to_string(i));
      want.push_back(ping(std::to_string(i)));
    }
    if (i % 11 == 5) {
      stream += cframe(Opcode::pong, "");
      want.push_back(pong(""));
    }
  }
  expect_events(stream + cframe(Opcode::text, "next"), [&] {
    auto w = want;
    w.push_back(text("next"));
    return w;
  }());
  // Zero-length fragments, first and last included.
  expect_events(cframe(Opcode::text, "", false) + cframe(Opcode::continuation, "ab", false) +
                    cframe(Opcode::continuation, "", false) + cframe(Opcode::continuation, ""),
                {text("ab")});
  // A close between fragments ends everything there.
  expect_events(cframe(Opcode::text, "ab", false) +
                    cframe(Opcode::close, close_payload(1001, "bye")) +
                    cframe(Opcode::continuation, "c"),
                {closed(1001, "bye")});
}

TEST(WsReader, BadSequencesOfDataFrames) {
  const std::string start = cframe(Opcode::text, "a", false);
  expect_events(start + cframe(Opcode::text, "b"), {fail(1002)});
  expect_events(start + cframe(Opcode::binary, "b"), {fail(1002)});
  expect_events(cframe(Opcode::text, "a") + cframe(Opcode::continuation, "b"),
                {text("a"), fail(1002)});
  expect_events(start + cframe(Opcode::continuation, "b") + cframe(Opcode::continuation, "c"),
                {text("ab"), fail(1002)});
}

TEST(WsReader, FragmentCountLimit) {
  ReaderLimits lim{1000, 4};
  auto frags = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
      s += cframe(i == 0 ? Opcode::text : Opcode::continuation, "", i + 1 == n);
    return s;
  };
  expect_events(frags(4), {text("")}, lim);
  expect_events(frags(5), {fail(1009)}, lim);
  // Interleaved control frames do not count as fragments.
  expect_events(cframe(Opcode::text, "a", false) + cframe(Opcode::ping, "") +
                    cframe(Opcode::ping, "") + cframe(Opcode::continuation, "b", false) +
                    cframe(Opcode::continuation, "c", false) + cframe(Opcode::continuation, "d"),
                {ping(""), ping(""), text("abcd")}, lim);
}

TEST(WsReader, CloseFrames) {
  expect_events(cframe(Opcode::close, ""), {closed(1000)});
  expect_events(cframe(Opcode::close, "\x03"), {fail(1002)});
  expect_events(cframe(Opcode::close, close_payload(1000, "bye")), {closed(1000, "bye")});
  expect_events(cframe(Opcode::close, close_payload(4999, "\xc3\xa9")), {closed(4999, "\xc3\xa9")});
  expect_events(cframe(Opcode::close, close_payload(1000, "\xc3")), {fail(1007)});
  expect_events(cframe(Opcode::close, close_payload(1000, std::string(123, 'r'))),
                {closed(1000, std::string(123, 'r'))});
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    SCOPED_TRACE(code);
    expect_events(cframe(Opcode::close, close_payload(code)), {fail(1002)});
  }
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                        3000, 3999, 4000, 4999}) {
    SCOPED_TRACE(code);
    expect_events(cframe(Opcode::close, close_payload(code)), {closed(code)});
  }
  // Frames after the close are never looked at, valid or not.
  expect_events(cframe(Opcode::close, "") + cframe(Opcode::text, "x") + raw({0xFF, 0xFF}),
                {closed(1000)});
}

TEST(WsReader, MessagesBeforeAnErrorAreYieldedFirst) {
  expect_events(cframe(Opcode::text, "one") + cframe(Opcode::ping, "p") +
                    cframe(Opcode::text, "two") + raw({0xC1, 0x80, 0, 0, 0, 0}),
                {text("one"), ping("p"), text("two"), fail(1002)});
}

TEST(WsReader, ZeroCopyForSingleFramesAndPaddingAfterEveryText) {
  ReaderLimits lim;
  WsReader r(&lim);
  TestRing ring;
  const std::string a = cframe(Opcode::text, "single");
  ring.append(a.data(), a.size());
  WsEvent e = r.next(ring.data(), ring.size());
  ASSERT_EQ(e.type, WsEventType::text);
  EXPECT_EQ(e.data, ring.data() + 6);  // in place, right after the 6-byte header
  EXPECT_EQ(e.consumed, a.size());
  EXPECT_EQ(r.memory_bytes(), 0u);
  ring.consume(e.consumed);

  const std::string b = cframe(Opcode::text, "frag", false) + cframe(Opcode::continuation, "ment");
  ring.append(b.data(), b.size());
  e = r.next(ring.data(), ring.size());
  ASSERT_EQ(e.type, WsEventType::text);
  EXPECT_EQ(std::string_view(reinterpret_cast<char*>(e.data), e.len), "fragment");
  EXPECT_TRUE(e.data < ring.data() || e.data >= ring.data() + ring.size());  // a copy
  for (size_t i = 0; i < kJsonPadding; ++i) EXPECT_EQ(e.data[e.len + i], 0);
  EXPECT_GT(r.memory_bytes(), 0u);
  EXPECT_LE(r.memory_bytes(), WsReader::kAssemblyKeepBytes);
}

TEST(WsReader, NeedMoreReportsTheWholeFrameSize) {
  ReaderLimits lim;
  WsReader r(&lim);
  std::string f = cframe(Opcode::text, std::string(300, 'z'));
  std::vector<uint8_t> buf(f.begin(), f.end());
  buf.resize(f.size() + kJsonPadding);
  struct {
    size_t have, need;
  } cases[] = {{0, 2}, {1, 2}, {2, 8}, {7, 8}, {8, 308}, {307, 308}};
  for (const auto& c : cases) {
    WsEvent e = r.next(buf.data(), c.have);
    EXPECT_EQ(e.type, WsEventType::need_more) << c.have;
    EXPECT_EQ(e.need_bytes, c.need) << c.have;
    EXPECT_EQ(e.consumed, 0u);
  }
  // Fragments already absorbed are consumed even when the next frame is short.
  std::string g = cframe(Opcode::text, "ab", false) + cframe(Opcode::continuation, "cd");
  std::vector<uint8_t> gb(g.begin(), g.end());
  gb.resize(g.size() + kJsonPadding);
  for (size_t have : {9, 10, 15}) {
    WsReader fresh(&lim);
    std::vector<uint8_t> copy = gb;  // next() unmasks in place
    WsEvent e = fresh.next(copy.data(), have);
    EXPECT_EQ(e.type, WsEventType::need_more);
    EXPECT_EQ(e.consumed, 8u);
    EXPECT_EQ(e.need_bytes, have == 9 ? 2u : have == 10 ? 6u : 8u);
  }
}

TEST(WsReader, MemoryIsReleasedAfterALargeFragmentedMessage) {
  ReaderLimits lim;
  WsReader r(&lim);
  TestRing ring;
  const std::string big(20000, 'b');
  const std::string s = cframe(Opcode::text, big.substr(0, 10000), false) +
                        cframe(Opcode::continuation, big.substr(10000));
  ring.append(s.data(), s.size());
  WsEvent e = r.next(ring.data(), ring.size());
  ASSERT_EQ(e.type, WsEventType::text);
  EXPECT_EQ(e.len, big.size());
  EXPECT_GE(r.memory_bytes(), big.size() + kJsonPadding);
  ring.consume(e.consumed);
  e = r.next(ring.data(), ring.size());
  EXPECT_EQ(e.type, WsEventType::need_more);
  EXPECT_EQ(r.memory_bytes(), 0u);

  // release_memory keeps the buffer while a message is in progress.
  const std::string half = cframe(Opcode::text, "ab", false);
  ring.append(half.data(), half.size());
  e = r.next(ring.data(), ring.size());
  ring.consume(e.consumed);
  EXPECT_TRUE(r.in_message());
  r.release_memory();
  EXPECT_GT(r.memory_bytes(), 0u);
  const std::string rest = cframe(Opcode::continuation, "c");
  ring.append(rest.data(), rest.size());
  e = r.next(ring.data(), ring.size());
  ASSERT_EQ(e.type, WsEventType::text);
  EXPECT_EQ(std::string_view(reinterpret_cast<char*>(e.data), e.len), "abc");
  r.release_memory();
  EXPECT_EQ(r.memory_bytes(), 0u);
}

TEST(WsReader, ClientModeReadsUnmaskedServerFrames) {
  std::string s;
  for (const BlockRef& b :
       {make_frame(Opcode::text, "hello"), make_pong("p"), make_close_frame(1001, "going")})
    s += b->view();
  expect_events(s, {text("hello"), pong("p"), closed(1001, "going")}, {}, MaskRule::forbidden);
  expect_events(cframe(Opcode::text, "x"), {fail(1002)}, {}, MaskRule::forbidden);
}

TEST(WsReader, MoveKeepsTheMessageInProgress) {
  ReaderLimits lim;
  WsReader a(&lim);
  TestRing ring;
  const std::string s = cframe(Opcode::text, "ab", false);
  ring.append(s.data(), s.size());
  ring.consume(a.next(ring.data(), ring.size()).consumed);
  WsReader b(std::move(a));
  WsReader c(&lim);
  c = std::move(b);
  const std::string t = cframe(Opcode::continuation, "c");
  ring.append(t.data(), t.size());
  WsEvent e = c.next(ring.data(), ring.size());
  ASSERT_EQ(e.type, WsEventType::text);
  EXPECT_EQ(std::string_view(reinterpret_cast<char*>(e.data), e.len), "abc");
}

}  // namespace
}  // namespace chatd
