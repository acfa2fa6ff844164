// The event body codec (cluster/event_body.h): every body a node encodes
// decodes to the same fields on every other node, and anything else that
// reaches a node from Redis is refused with false, never read past its end.
#include "cluster/event_body.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace chatd {
namespace {

std::string encode(const EventBody& b) {
  std::string out;
  encode_event_body(b, out);
  return out;
}

EventBody body(char kind, int64_t ts, std::string_view node, uint64_t cookie, std::string_view nick,
               std::string_view text = {}) {
  EventBody b;
  b.kind = kind;
  b.ts = ts;
  b.node = node;
  b.cookie = cookie;
  b.nick = nick;
  b.text = text;
  return b;
}

// Decodes `wire` and checks every field against `want`, and that the views
// point into `wire` (a node applies them without a copy).
void expect_round_trip(const EventBody& want) {
  const std::string wire = encode(want);
  EventBody got;
  ASSERT_TRUE(decode_event_body(wire, got)) << wire;
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.ts, want.ts);
  EXPECT_EQ(got.node, want.node);
  EXPECT_EQ(got.cookie, want.cookie);
  EXPECT_EQ(got.nick, want.nick);
  EXPECT_EQ(got.text, want.text);
  const char* lo = wire.data();
  const char* hi = wire.data() + wire.size();
  EXPECT_TRUE(got.node.data() >= lo && got.node.data() + got.node.size() <= hi);
  EXPECT_TRUE(got.nick.data() >= lo && got.nick.data() + got.nick.size() <= hi);
  EXPECT_TRUE(got.text.data() >= lo && got.text.data() + got.text.size() <= hi);
}

TEST(EventBody, EncodingIsTheDocumentedLayout) {
  EXPECT_EQ(encode(body('m', 1700000000123, "n1", 42, "bob", "hi there")),
            "m 1700000000123 n1 42 3 bobhi there");
  EXPECT_EQ(encode(body('j', 5, "node-a", 0, "al ice")), "j 5 node-a 0 6 al ice");
  EXPECT_EQ(encode(body('l', 0, "x", 18446744073709551615ull, "z")),
            "l 0 x 18446744073709551615 1 z");
}

TEST(EventBody, AppendsToWhatIsAlreadyThere) {
  std::string out = "prefix ";
  encode_event_body(body('j', 1, "n", 2, "a"), out);
  EXPECT_EQ(out, "prefix j 1 n 2 1 a");
}

TEST(EventBody, RoundTrips) {
  expect_round_trip(body('j', 1700000000000, "node-1", 7, "alice"));
  expect_round_trip(body('l', 1700000000000, "node-1", 0, "alice"));
  expect_round_trip(body('m', 1700000000000, "node-1", 9, "alice", "hello"));
  // A nick with spaces, and one that looks like the numbers around it.
  expect_round_trip(body('j', 3, "n", 1, "a b c"));
  expect_round_trip(body('m', 3, "n", 1, "12 34", "56 78"));
  expect_round_trip(body('m', 3, "n", 1, " ", " "));
  // UTF-8: lengths are bytes, not code points.
  expect_round_trip(body('j', 3, "n", 1, "J\xc3\xbcrgen \xe2\x9c\x93"));
  expect_round_trip(body('m', 3, "n", 1, "\xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x8d\xb5"));
  // Message text is everything after the nick: spaces, newlines, CR LF,
  // control characters and NUL bytes included.
  expect_round_trip(body('m', 3, "n", 1, "bob", "line one\nline two\r\n\ttab"));
  expect_round_trip(body('m', 3, "n", 1, "bob", std::string_view("a\0b\x01\x7f", 5)));
  expect_round_trip(body('m', 3, "n", 1, "bob", "  leading and trailing  "));
  // The extremes of the numbers.
  expect_round_trip(body('m', 9223372036854775807ll, "n", 18446744073709551615ull, "b", "t"));
  expect_round_trip(body('m', -1, "n", 0, "b", "t"));
}

TEST(EventBody, NickLengthCountsBytesOfAMultiByteNick) {
  EXPECT_EQ(encode(body('j', 1, "n", 1, "\xc3\xa9")), "j 1 n 1 2 \xc3\xa9");
}

TEST(EventBody, TextOnlyForAMessage) {
  EventBody b;
  // A join or leave with text, and a message without, are not bodies.
  EXPECT_FALSE(decode_event_body(encode(body('j', 1, "n", 1, "bob", "x")), b));
  EXPECT_FALSE(decode_event_body(encode(body('l', 1, "n", 1, "bob", "x")), b));
  EXPECT_FALSE(decode_event_body(encode(body('m', 1, "n", 1, "bob", "")), b));
  EXPECT_TRUE(decode_event_body(encode(body('j', 1, "n", 1, "bob", "")), b));
  EXPECT_TRUE(decode_event_body(encode(body('m', 1, "n", 1, "bob", "x")), b));
}

TEST(EventBody, TheReapersLeaveDecodes) {
  // What broker_script.cc builds for a dead node's member:
  // 'l ' .. now_ms() .. ' ' .. node .. ' 0 ' .. #nick .. ' ' .. nick
  EventBody b;
  ASSERT_TRUE(decode_event_body("l 1764600000123 dead-node 0 7 Old Bob", b));
  EXPECT_EQ(b.kind, 'l');
  EXPECT_EQ(b.ts, 1764600000123);
  EXPECT_EQ(b.node, "dead-node");
  EXPECT_EQ(b.cookie, 0u);
  EXPECT_EQ(b.nick, "Old Bob");
  EXPECT_TRUE(b.text.empty());
}

TEST(EventBody, MalformedBodiesAreRefused) {
  struct Case {
    const char* why;
    std::string_view wire;
  };
  using namespace std::string_view_literals;
  const Case cases[] = {
      {"empty", ""sv},
      {"kind only", "j"sv},
      {"kind and space", "j "sv},
      {"unknown kind", "x 1 n 1 3 bob"sv},
      {"upper-case kind", "J 1 n 1 3 bob"sv},
      {"two-letter kind", "jj 1 n 1 3 bob"sv},
      {"no space after the kind", "j1 n 1 3 bob"sv},
      {"leading space", " j 1 n 1 3 bob"sv},
      {"leading junk", "?j 1 n 1 3 bob"sv},
      {"leading NUL", "\0j 1 n 1 3 bob"sv},
      {"ts missing", "j  n 1 3 bob"sv},
      {"ts not a number", "j abc n 1 3 bob"sv},
      {"ts with a plus", "j +1 n 1 3 bob"sv},
      {"ts in hex", "j 0x1 n 1 3 bob"sv},
      {"ts with junk after it", "j 1x n 1 3 bob"sv},
      {"ts overflows int64", "j 9223372036854775808 n 1 3 bob"sv},
      {"ts at the end", "j 1"sv},
      {"ts then the end", "j 1 "sv},
      {"node empty", "j 1  1 3 bob"sv},
      {"node without a space after it", "j 1 node"sv},
      {"cookie not a number", "j 1 n abc 3 bob"sv},
      {"cookie negative", "j 1 n -1 3 bob"sv},
      {"cookie overflows uint64", "j 1 n 18446744073709551616 3 bob"sv},
      {"cookie missing", "j 1 n  3 bob"sv},
      {"cookie at the end", "j 1 n 1"sv},
      {"nick length missing", "j 1 n 1  bob"sv},
      {"nick length not a number", "j 1 n 1 x bob"sv},
      {"nick length negative", "j 1 n 1 -3 bob"sv},
      {"nick length zero", "j 1 n 1 0 "sv},
      {"nick length zero for a msg", "m 1 n 1 0 hello"sv},
      {"nick length then the end", "j 1 n 1 3"sv},
      {"nick length, space, nothing", "j 1 n 1 3 "sv},
      {"nick length one past the end", "j 1 n 1 4 bob"sv},
      {"nick length far past the end", "m 1 n 1 4000000000 bob"sv},
      {"nick length overflows", "m 1 n 1 99999999999999999999999 bob"sv},
      {"msg whose nick takes all the rest", "m 1 n 1 3 bob"sv},
      {"join with text after the nick", "j 1 n 1 3 bobby"sv},
      {"fields separated by tabs", "j\t1\tn\t1\t3\tbob"sv},
  };
  for (const Case& c : cases) {
    EventBody b;
    EXPECT_FALSE(decode_event_body(c.wire, b)) << c.why;
  }
}

TEST(EventBody, EveryTruncationOfAValidBodyIsSafe) {
  // Each prefix of a message either decodes to a shorter text or is
  // refused; none reads past its end (ASan in the SAN build).
  const std::string wire = encode(body('m', 1700000000000, "node-1", 77, "a b", "hi all"));
  const size_t text_at = wire.size() - 6;
  for (size_t n = 0; n <= wire.size(); ++n) {
    const std::string cut = wire.substr(0, n);  // its own allocation, so ASan sees its end
    EventBody b;
    const bool ok = decode_event_body(cut, b);
    EXPECT_EQ(ok, n > text_at) << "prefix of " << n << " bytes";
    if (ok) {
      EXPECT_EQ(b.text, wire.substr(text_at, n - text_at));
    }
  }
}

}  // namespace
}  // namespace chatd
