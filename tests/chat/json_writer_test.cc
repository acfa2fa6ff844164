// JSON writer: exact shapes, exact sizing, and escaping that any JSON parser
// (here simdjson's DOM parser, independent of our reader) reads back exactly.
#include "chat/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>
#include <random>
#include <string>

#include "chat/event.h"
#include "chat_test_util.h"
#include "ws/encoder.h"

namespace chatd {
namespace {

constexpr std::string_view kDev = "dev", kX = "x", kR = "r";

using test::frame_payload;
using test::utf8;

simdjson::dom::element parse_dom(simdjson::dom::parser& p, const std::string& json) {
  simdjson::dom::element e;
  EXPECT_EQ(p.parse(json).get(e), simdjson::SUCCESS) << json;
  return e;
}

std::string get_str(simdjson::dom::element e, const char* key) {
  std::string_view s;
  EXPECT_EQ(e[key].get(s), simdjson::SUCCESS) << key;
  return std::string(s);
}

TEST(JsonWriter, ShapesMatchTheProtocol) {
  std::vector<Member> users{{7, make_nick("bob")}, {3, make_nick("alice")}};
  EXPECT_EQ(frame_payload(encode_welcome({"dev", "alice", users, "k3x9q2", 41, true, {}})),
            R"({"type":"welcome","room":"dev","nick":"alice","users":["bob","alice"],)"
            R"("epoch":"k3x9q2","last_id":41,"resumed":true})");
  EXPECT_EQ(frame_payload(encode_welcome({"general", "a", {}, "e", 0, false, "r1"})),
            R"({"type":"welcome","room":"general","nick":"a","users":[],"epoch":"e",)"
            R"("last_id":0,"resumed":false,"ref":"r1"})");
  EXPECT_EQ(frame_payload(encode_event("dev", EventKind::join, 42, 1764100000123, "alice", {})),
            R"({"type":"system","room":"dev","event":"join","nick":"alice",)"
            R"("text":"alice joined","id":42,"ts":1764100000123})");
  EXPECT_EQ(frame_payload(encode_event("dev", EventKind::msg, 43, 1764100000456, "alice", "Olá!")),
            R"({"type":"msg","room":"dev","nick":"alice","msg":"Olá!","id":43,)"
            R"("ts":1764100000456})");
  EXPECT_EQ(
      frame_payload(encode_event("dev", EventKind::leave, 44, 1764100000789, "bob", "ignored")),
      R"({"type":"system","room":"dev","event":"leave","nick":"bob","text":"bob left",)"
      R"("id":44,"ts":1764100000789})");
  EXPECT_EQ(frame_payload(encode_error(ChatError::nick_taken)),
            R"({"type":"error","code":"nick_taken","message":"that nickname is in use"})");
  EXPECT_EQ(frame_payload(encode_error(ChatError::nick_taken, &kDev)),
            R"({"type":"error","code":"nick_taken","message":"that nickname is in use",)"
            R"("room":"dev"})");
  EXPECT_EQ(frame_payload(encode_error(ChatError::not_joined, nullptr, "q")),
            R"({"type":"error","code":"not_joined","message":"join that room first","ref":"q"})");
  EXPECT_EQ(frame_payload(encode_error(ChatError::not_joined, &kX, "q")),
            R"({"type":"error","code":"not_joined","message":"join that room first",)"
            R"("room":"x","ref":"q"})");
  RoomLine lines[] = {{"general", 12, 9120}, {"dev", 1, 0}};
  EXPECT_EQ(frame_payload(encode_rooms(lines, {})),
            R"({"type":"rooms","rooms":[{"room":"general","users":12,"last_id":9120},)"
            R"({"room":"dev","users":1,"last_id":0}]})");
  EXPECT_EQ(frame_payload(encode_rooms({}, "7")), R"({"type":"rooms","rooms":[],"ref":"7"})");
}

// A history reply carries the stored frames' payloads byte for byte.
TEST(JsonWriter, HistoryEmbedsTheFramesAsSent) {
  std::vector<BlockRef> events{
      encode_event("dev", EventKind::join, 1, 10, "a", {}),
      encode_event("dev", EventKind::msg, 2, 11, "a", "\"q\"\n"),
      encode_event("dev", EventKind::msg, 3, 12, "a", std::string(300, 'x'))};
  std::string expected = R"({"type":"history","room":"dev","events":[)";
  for (size_t i = 0; i < events.size(); ++i) {
    expected += (i ? "," : "") + frame_payload(events[i]);
  }
  EXPECT_EQ(frame_payload(encode_history("dev", events, true, {})), expected + R"(],"more":true})");
  EXPECT_EQ(frame_payload(encode_history("dev", events, false, "p2")),
            expected + R"(],"more":false,"ref":"p2"})");
  EXPECT_EQ(frame_payload(encode_history("dev", {}, false, {})),
            R"({"type":"history","room":"dev","events":[],"more":false})");
  simdjson::dom::parser p;
  auto doc = parse_dom(p, frame_payload(encode_history("dev", events, true, "r")));
  simdjson::dom::array arr;
  ASSERT_EQ(doc["events"].get(arr), simdjson::SUCCESS);
  ASSERT_EQ(arr.size(), 3u);
  EXPECT_EQ(get_str(arr.at(1).value(), "msg"), "\"q\"\n");
  EXPECT_EQ(get_str(arr.at(2).value(), "msg"), std::string(300, 'x'));
}

// Strings the client sent (ref) or that passed validation (room, nick) are
// escaped like any other: a ref may hold anything.
TEST(JsonWriter, RefAndRoomAreEscaped) {
  simdjson::dom::parser p;
  const std::string ref = "\"}\\\n\x01,\"type\":\"x";
  std::vector<Member> users{{1, make_nick("a")}};
  const BlockRef frames[] = {encode_welcome({"r", "a", users, "e", 1, false, ref}),
                             encode_error(ChatError::bad_field, &kR, ref),
                             encode_history("r", {}, false, ref), encode_rooms({}, ref)};
  for (const BlockRef& b : frames) {
    auto doc = parse_dom(p, frame_payload(b));
    EXPECT_EQ(get_str(doc, "ref"), ref);
    EXPECT_NE(get_str(doc, "type"), "x");
  }
}

TEST(JsonWriter, EveryErrorEncodes) {
  simdjson::dom::parser p;
  for (size_t i = 1; i < kChatErrorCount; ++i) {
    ChatError e = ChatError(i);
    for (std::string_view room : {"", "dev"}) {
      auto doc = parse_dom(p, frame_payload(encode_error(e, room.empty() ? nullptr : &room, "r")));
      EXPECT_EQ(get_str(doc, "type"), "error");
      EXPECT_EQ(get_str(doc, "code"), error_code(e));
      EXPECT_FALSE(get_str(doc, "message").empty());
      EXPECT_EQ(get_str(doc, "ref"), "r");
      std::string_view got;
      EXPECT_EQ(doc["room"].get(got) == simdjson::SUCCESS, !room.empty());
    }
  }
}

// Exactly: rings keep these blocks, so slack would be paid per stored event.
TEST(JsonWriter, BlocksAreSizedExactlyWithFrameHeadroom) {
  for (size_t n : {size_t(0), size_t(100), size_t(125), size_t(126), size_t(70000)}) {
    std::string text(n, '\x01');  // every byte escapes to 6
    BlockRef b = encode_msg("general", "n", text, 1, 2);
    std::string payload = frame_payload(b);
    EXPECT_EQ(b->capacity, frame_header_len(payload.size()) + payload.size()) << n;
    EXPECT_EQ(b->begin, 0u) << n;  // the header took all the headroom
    EXPECT_EQ(b->end, b->capacity) << n;
    EXPECT_EQ(b->refs, 1u);
  }
}

TEST(JsonWriter, EscapedSizeMatchesWhatIsWritten) {
  for (int c = 0; c < 256; ++c) {
    std::string s(3, char(c));
    char out[32];
    EXPECT_EQ(size_t(write_escaped(out, s) - out), escaped_size(s)) << c;
  }
  char out[64];
  std::string_view in = "a\"b\\c\n\x1f\x7f\xC3\xA9";
  EXPECT_EQ(std::string_view(out, write_escaped(out, in) - out), R"(a\"b\\c\n\u001f)"
                                                                 "\x7f\xC3\xA9");
}

TEST(JsonWriter, EveryControlCharacterRoundTrips) {
  simdjson::dom::parser p;
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += char(c);
  all += "\"\\/\x7F";
  for (int c = 0; c < 0x20; ++c) {
    std::string one = std::string("<") + char(c) + ">";
    auto doc = parse_dom(p, frame_payload(encode_msg("r", one, one, 1, 1)));
    EXPECT_EQ(get_str(doc, "msg"), one) << c;
    EXPECT_EQ(get_str(doc, "nick"), one) << c;
  }
  auto doc = parse_dom(p, frame_payload(encode_msg("r", "n", all, 1, 1)));
  EXPECT_EQ(get_str(doc, "msg"), all);
  auto sys = parse_dom(p, frame_payload(encode_system("r", true, all, 1, 1)));
  EXPECT_EQ(get_str(sys, "text"), all + " joined");
  std::vector<Member> users{{1, make_nick(all)}};
  auto welcome = parse_dom(p, frame_payload(encode_welcome({"r", all, users, "e", 0, false, all})));
  EXPECT_EQ(get_str(welcome, "nick"), all);
  EXPECT_EQ(get_str(welcome, "ref"), all);
  std::string_view first;
  ASSERT_EQ(welcome["users"].at(0).get(first), simdjson::SUCCESS);
  EXPECT_EQ(first, all);
}

// Random valid UTF-8 (every length class, controls, quotes, backslashes,
// U+2028/2029) encodes into JSON that parses back to the same bytes.
TEST(JsonWriter, RandomUtf8RoundTrips) {
  std::mt19937 rng(12345);
  auto random_cp = [&]() -> char32_t {
    switch (rng() % 6) {
      case 0:
        return rng() % 0x20;
      case 1:
        return "\"\\/ a\x7F"[rng() % 6];
      case 2:
        return 0x80 + rng() % (0x800 - 0x80);
      case 3: {
        char32_t cp = 0x800 + rng() % (0x10000 - 0x800);
        return (cp >= 0xD800 && cp <= 0xDFFF) ? 0x2028 : cp;
      }
      case 4:
        return 0x10000 + rng() % (0x110000 - 0x10000);
      default:
        return 0x20 + rng() % 0x5F;
    }
  };
  simdjson::dom::parser p;
  for (int round = 0; round < 500; ++round) {
    std::string s;
    size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i) s += utf8(random_cp());
    std::string payload = frame_payload(encode_msg("r", s, s, round, -round));
    ASSERT_TRUE(simdjson::validate_utf8(payload.data(), payload.size()));
    auto doc = parse_dom(p, payload);
    ASSERT_EQ(get_str(doc, "msg"), s) << round;
    ASSERT_EQ(get_str(doc, "nick"), s) << round;
  }
}

TEST(JsonWriter, NumbersAtTheirLimits) {
  simdjson::dom::parser p;
  struct Case {
    uint64_t id = 0;
    int64_t ts = 0;
  };
  for (Case c : {Case{0, 0}, Case{1, -1}, Case{UINT64_MAX, INT64_MAX}, Case{UINT64_MAX, INT64_MIN},
                 Case{1ull << 53, 1764100000123}}) {
    auto doc = parse_dom(p, frame_payload(encode_event("r", EventKind::msg, c.id, c.ts, "n", "m")));
    uint64_t id = 0;
    int64_t ts = 0;
    ASSERT_EQ(doc["id"].get(id), simdjson::SUCCESS);
    ASSERT_EQ(doc["ts"].get(ts), simdjson::SUCCESS);
    EXPECT_EQ(id, c.id);
    EXPECT_EQ(ts, c.ts);
  }
}

// The escaping rule one byte at a time: the reference the word-at-a-time
// scan must match.
std::string escape_reference(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out;
}

std::string escape_ours(std::string_view s) {
  std::string out(escaped_size(s), '\0');
  char* end = write_escaped(out.data(), s);
  EXPECT_EQ(size_t(end - out.data()), out.size());
  return out;
}

// Every byte value at every offset of the 8- and 16-byte steps, next to the
// bytes the lane arithmetic could confuse it with (0x1F/0x20, 0x21/0x23,
// 0x5B/0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF): the bulk scan finds exactly the
// bytes the byte-wise rule escapes.
TEST(JsonWriter, EscapingMatchesByteWiseReferenceAtEveryOffset) {
  const unsigned char fillers[] = {'x',  0x1F, 0x20, 0x21, 0x23, 0x5B,
                                   0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF};
  for (unsigned char fill : fillers)
    for (size_t len : {1, 7, 8, 9, 15, 16, 17, 33}) {
      for (size_t at = 0; at < len; ++at)
        for (int c = 0; c < 256; ++c) {
          std::string s(len, char(fill));
          s[at] = char(c);
          ASSERT_EQ(escape_ours(s), escape_reference(s))
              << int(fill) << " " << len << " " << at << " " << c;
        }
    }
}

TEST(JsonWriter, EscapingMatchesReferenceOnRandomText) {
  std::mt19937 rng(7);
  const std::string_view pieces[] = {"a",
                                     "hello world ",
                                     "\"",
                                     "\\",
                                     "\n",
                                     "\x01",
                                     "\x1f",
                                     "\xc3\xa9",
                                     "\xf0\x9f\x98\x80",
                                     "\x7f",
                                     " ",
                                     "\\\"\\\"",
                                     std::string_view("\0", 1)};
  for (int iter = 0; iter < 5000; ++iter) {
    std::string s;
    for (int k = rng() % 60; k > 0; --k) s += pieces[rng() % std::size(pieces)];
    ASSERT_EQ(escaped_size(s), escape_reference(s).size()) << iter;
    ASSERT_EQ(escape_ours(s), escape_reference(s)) << iter;
  }
}

}  // namespace
}  // namespace chatd
