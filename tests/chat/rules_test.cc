// Nick and msg rules at every limit PROTOCOL.md names.
#include "chat/rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "chat_test_util.h"
#include "codec/utf8.h"

namespace chatd {
namespace {

using test::utf8;

std::string repeat(std::string_view unit, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += unit;
  return s;
}

const char32_t kSpaces[] = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,   0xA0,   0x1680,
                            0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
                            0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};

TEST(Rules, WhiteSpaceIsExactlyTheUnicodeProperty) {
  size_t count = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    bool expected = std::find(std::begin(kSpaces), std::end(kSpaces), cp) != std::end(kSpaces);
    ASSERT_EQ(is_unicode_space(cp), expected) << std::hex << uint32_t(cp);
    count += expected;
  }
  EXPECT_EQ(count, 25u);
  // Look-alikes that are not White_Space.
  for (char32_t cp : {0x200B, 0x180E, 0xFEFF, 0x2060}) EXPECT_FALSE(is_unicode_space(cp));
}

TEST(Rules, ControlCharacters) {
  for (char32_t cp = 0; cp < 0x200; ++cp) {
    EXPECT_EQ(is_control_char(cp), cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F)) << uint32_t(cp);
  }
}

struct NickCase {
  std::string in;
  bool ok;
  std::string stored;
};

TEST(Rules, Nick) {
  const std::string e_acute = "\xC3\xA9";        // 2 bytes
  const std::string cjk = "\xE4\xB8\xAD";        // 3 bytes
  const std::string emoji = "\xF0\x9F\x98\x80";  // 4 bytes
  const std::string ideo = utf8(0x3000);
  const NickCase cases[] = {
      {"alice", true, "alice"},
      {"a", true, "a"},
      {"  alice  ", true, "alice"},
      {ideo + "alice" + ideo, true, "alice"},
      {"\t\n alice \r", true, "alice"},
      {utf8(0xA0) + "al ice" + utf8(0x2003), true, "al ice"},
      {utf8(0x85) + "alice" + utf8(0x85), true, "alice"},  // U+0085 is space at the edges
      {"Zo" + e_acute, true, "Zo" + e_acute},
      {"", false, ""},
      {"   ", false, ""},
      {ideo + ideo, false, ""},
      {utf8(0x2028) + utf8(0x85), false, ""},
      {repeat("a", 32), true, repeat("a", 32)},
      {repeat("a", 33), false, ""},
      {repeat(e_acute, 32), true, repeat(e_acute, 32)},
      {repeat(e_acute, 33), false, ""},
      {repeat(cjk, 32), true, repeat(cjk, 32)},
      {repeat(cjk, 33), false, ""},
      {repeat(emoji, 32), true, repeat(emoji, 32)},
      {repeat(emoji, 33), false, ""},
      {"  " + repeat(emoji, 32) + ideo, true, repeat(emoji, 32)},  // counted after trimming
      {"a" + utf8(0x85) + "b", false, ""},                         // inside: a C1 control
      {"a\tb", false, ""},  // inside: a C0 control that is also space
      {"a\x7F", false, ""},
      {"a" + utf8(0x9F), false, ""},
      {"a" + utf8(0xA0) + "b", true, "a" + utf8(0xA0) + "b"},
      {"a\xC3", false, ""},         // invalid UTF-8
      {"\xED\xA0\x80", false, ""},  // an encoded surrogate
  };
  for (const NickCase& c : cases) {
    auto got = validate_nick(c.in);
    EXPECT_EQ(got.has_value(), c.ok) << c.in;
    if (got && c.ok) {
      EXPECT_EQ(*got, c.stored) << c.in;
    }
  }
  for (char32_t cp = 0; cp < 0xA0; ++cp) {
    if (!is_control_char(cp)) continue;
    EXPECT_FALSE(validate_nick("a" + utf8(cp) + "b")) << uint32_t(cp);
    // A control at the edge is trimmed only if it is also white space.
    EXPECT_EQ(validate_nick("ab" + utf8(cp)).has_value(), is_unicode_space(cp)) << uint32_t(cp);
  }
}

TEST(Rules, Msg) {
  struct Case {
    std::string in;
    bool ok;
  };
  const Case cases[] = {
      {"hi", true},
      {"", false},
      {" ", false},
      {"\t\r\n", false},
      {utf8(0xA0), false},
      {repeat(utf8(0xA0), 5), false},
      {utf8(0x3000), false},
      {utf8(0x3000) + " " + utf8(0x2003) + utf8(0x85), false},
      {utf8(0x200B), true},  // zero width space is not White_Space
      {std::string(1, '\0'), true},
      {"\x01", true},  // controls round-trip, escaped
      {"  padded  ", true},
      {repeat("x", 2000), true},
      {repeat("x", 2001), false},
      {repeat("\xF0\x9F\x98\x80", 2000), true},
      {repeat("\xF0\x9F\x98\x80", 2001), false},
      {repeat(" ", 1999) + "x", true},
      {repeat(" ", 2001) + "x", false},
      {"x\xC3", false},
      // Past 2000 bytes the code points are counted; within, never.
      {repeat("x", 1999) + utf8(0xE9), true},  // 2001 bytes, 2000 code points
      {repeat("x", 2000) + utf8(0xE9), false},
      {repeat(utf8(0x3000), 1999) + "x", true},
      {repeat(utf8(0x3000), 2000), false},
      {repeat(utf8(0x3000), 1000), false},
      // The white space check passes ASCII space and then decodes.
      {" " + utf8(0xE9), true},
      {"\t" + utf8(0x2003) + utf8(0x200B), true},
      {utf8(0x85) + " \x0b", false},
      {repeat(" ", 1999) + utf8(0xA0), false},
      {repeat(" ", 1999) + utf8(0x3000) + "x", false},  // 2001 code points
      {"ok" + repeat(" ", 5) + "\xF0\x9F", false},      // invalid after the first visible
  };
  for (const Case& c : cases) EXPECT_EQ(validate_msg(c.in), c.ok) << c.in.substr(0, 40);
}

// The rule as first written, decoding every code point: the reference the
// short cuts (no count under 2000 bytes, stop at the first visible) must match.
bool validate_msg_reference(std::string_view msg) {
  size_t count = 0;
  bool visible = false;
  char32_t cp = 0;
  size_t i = 0;
  while (utf8_next(msg, i, cp)) {
    ++count;
    visible = visible || !is_unicode_space(cp);
  }
  return i == msg.size() && count <= kMaxMsgCodePoints && visible;
}

// Short and just-over-the-limit messages: all white space, valid text, and
// text with invalid bytes mixed in.
TEST(Rules, MsgMatchesDecodingReference) {
  std::mt19937 rng(99);
  const std::string spaces[] = {" ", "\t", utf8(0xA0), utf8(0x3000), utf8(0x85)};
  const std::string text[] = {"x", utf8(0xE9), utf8(0x4E2D), utf8(0x1F600), utf8(0x200B)};
  const std::string bad[] = {"\xC3", "\x80", "\xED\xA0\x80"};
  for (int iter = 0; iter < 4000; ++iter) {
    const size_t target = rng() % 2 ? rng() % 40 : 1900 + rng() % 250;
    const int kind = rng() % 3;  // 0: spaces only, 1: valid text, 2: with bad bytes
    std::string s;
    while (s.size() < target) {
      const int pick = rng() % 10;
      if (kind == 0 || pick < 4) {
        s += spaces[rng() % std::size(spaces)];
      } else if (kind == 2 && pick == 9) {
        s += bad[rng() % std::size(bad)];
      } else {
        s += text[rng() % std::size(text)];
      }
    }
    ASSERT_EQ(validate_msg(s), validate_msg_reference(s)) << iter << " " << s.size();
  }
}

TEST(Rules, NickEqualIsAsciiCaseInsensitive) {
  EXPECT_TRUE(nick_equal("alice", "ALICE"));
  EXPECT_TRUE(nick_equal("AlIcE_1", "aLiCe_1"));
  EXPECT_FALSE(nick_equal("alice", "alice "));
  EXPECT_FALSE(nick_equal("alice", "alicf"));
  EXPECT_FALSE(nick_equal("@", "`"));  // 0x40/0x60 differ by the case bit but are not letters
  EXPECT_FALSE(nick_equal("[", "{"));
  EXPECT_FALSE(nick_equal("Zo\xC3\xAB", "ZO\xC3\x8B"));  // ë vs Ë: not ASCII
  EXPECT_TRUE(nick_equal("Zo\xC3\xAB", "ZO\xC3\xAB"));
  EXPECT_TRUE(nick_equal("", ""));
}

// PROTOCOL.md: 1 to 64 of a-z, 0-9, - and _; anything else is room_invalid.
TEST(Rules, RoomName) {
  const std::string ok[] = {"general", "a",     "0", "-", "_", "dev-ops_2", std::string(64, 'z'),
                            "--",      "9lives"};
  for (const std::string& r : ok) EXPECT_TRUE(validate_room(r)) << r;
  const std::string bad[] = {"",
                             std::string(65, 'z'),
                             "Dev",
                             "GENERAL",
                             "a b",
                             " a",
                             "a ",
                             "a.b",
                             "a/b",
                             "../a",
                             "a:b",
                             "a@b",
                             "d\xC3\xA9v",
                             utf8(0x0430),
                             std::string("a\0", 2),
                             "a\t",
                             "a+b",
                             "a#b",
                             "a%20b",
                             "\x7F"};
  for (const std::string& r : bad) EXPECT_FALSE(validate_room(r)) << r;
  // Every byte alone: exactly the 38 allowed.
  int allowed = 0;
  for (int b = 0; b < 256; ++b) allowed += validate_room(std::string(1, char(b)));
  EXPECT_EQ(allowed, 38);
}

}  // namespace
}  // namespace chatd
