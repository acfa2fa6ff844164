#include "codec/utf8.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "utf8_cases.h"

namespace chatd {
namespace {

using test::kAutobahnUtf8;
using test::kTruncated;
using test::kValid;

const uint8_t* u8(std::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

// Index of the byte at which byte-by-byte feeding first fails, or kValid /
// kTruncated when no byte fails.
size_t fail_index_bytewise(std::string_view s) {
  Utf8Validator v;
  for (size_t i = 0; i < s.size(); ++i)
    if (!v.feed(u8(s) + i, 1)) return i;
  return v.complete() ? kValid : kTruncated;
}

bool valid_split(std::string_view s, size_t at) {
  Utf8Validator v;
  bool ok = v.feed(u8(s), at);
  ok = v.feed(u8(s) + at, s.size() - at) && ok;
  return ok && v.complete();
}

// Encodes any value up to 0x7FFFFFFF the generic way (no checks), so tests
// can produce surrogates and out-of-range code points too.
std::string encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

TEST(Utf8, AutobahnSection6WholeBytewiseAndSplit) {
  for (const auto& c : kAutobahnUtf8) {
    SCOPED_TRACE(c.name);
    const bool valid = c.fail_at == kValid;
    EXPECT_EQ(utf8_valid(c.bytes), valid);
    EXPECT_EQ(simdjson::validate_utf8(c.bytes.data(), c.bytes.size()), valid);
    EXPECT_EQ(fail_index_bytewise(c.bytes), c.fail_at);
    for (size_t at = 0; at <= c.bytes.size(); ++at)
      EXPECT_EQ(valid_split(c.bytes, at), valid) << at;
    Utf8Validator whole;
    bool fed = whole.feed(u8(c.bytes), c.bytes.size());
    EXPECT_EQ(fed, c.fail_at == kValid || c.fail_at == kTruncated);
    EXPECT_EQ(whole.complete(), valid);
  }
}

TEST(Utf8, FailureIsStickyAndResetClearsIt) {
  Utf8Validator v;
  EXPECT_FALSE(v.feed(u8("\xff"), 1));
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.feed(u8("a"), 1));
  EXPECT_FALSE(v.feed(u8(""), 0));
  EXPECT_FALSE(v.complete());
  v.reset();
  EXPECT_TRUE(v.feed(u8("a"), 1));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, CompleteIsFalseWhileASequenceIsOpen) {
  Utf8Validator v;
  const std::string_view euro = "\xe2\x82\xac";
  EXPECT_TRUE(v.feed(u8(euro), 1));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed(u8(euro) + 1, 1));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed(u8(euro) + 2, 1));
  EXPECT_TRUE(v.complete());
}

// Every scalar value encodes to valid UTF-8 that decodes back to itself;
// every surrogate encoding is rejected.
TEST(Utf8, EveryCodePointRoundTrips) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    std::string s = encode(cp);
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    ASSERT_EQ(utf8_valid(s), !surrogate) << std::hex << cp;
    if (surrogate) continue;
    size_t i = 0;
    char32_t got = 0;
    ASSERT_TRUE(utf8_next(s, i, got));
    ASSERT_EQ(got, cp);
    ASSERT_EQ(i, s.size());
    ASSERT_EQ(utf8_length(s), 1u);
  }
  EXPECT_FALSE(utf8_valid(encode(0x110000)));
  EXPECT_FALSE(utf8_valid(encode(0x1FFFFF)));
}

TEST(Utf8, AllTwoByteStringsMatchSimdjson) {
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) {
      char s[2] = {static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(utf8_valid({s, 2}), simdjson::validate_utf8(s, 2)) << a << " " << b;
    }
}

TEST(Utf8, FourByteEdgesMatchSimdjson) {
  const uint8_t edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xFF};
  for (int lead = 0; lead < 256; ++lead)
    for (uint8_t b1 : edges)
      for (uint8_t b2 : edges)
        for (uint8_t b3 : edges) {
          char s[4] = {static_cast<char>(lead), static_cast<char>(b1), static_cast<char>(b2),
                       static_cast<char>(b3)};
          for (size_t n = 1; n <= 4; ++n)
            ASSERT_EQ(utf8_valid({s, n}), simdjson::validate_utf8(s, n)) << lead;
        }
}

// Random structured text (valid code points of every length, long ASCII runs
// for the 8-byte path), then mutated; compared with simdjson whole and split.
TEST(Utf8, DifferentialAgainstSimdjson) {
  std::mt19937 rng(12345);
  const uint32_t ranges[][2] = {{0, 0x7F},        {0x80, 0x7FF},       {0x800, 0xD7FF},
                                {0xE000, 0xFFFF}, {0x10000, 0x10FFFF}, {0x20, 0x7E}};
  int valid_seen = 0, invalid_seen = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    const int cps = rng() % 40;
    for (int k = 0; k < cps; ++k) {
      const auto& r = ranges[rng() % 6];
      if (rng() % 4 == 0) s.append(rng() % 24, 'a');
      s += encode(r[0] + rng() % (r[1] - r[0] + 1));
    }
    const int mutations = rng() % 3;
    for (int m = 0; m < mutations && !s.empty(); ++m) {
      switch (rng() % 3) {
        case 0:
          s[rng() % s.size()] = static_cast<char>(rng());
          break;
        case 1:
          s.resize(rng() % s.size());
          break;
        default:
          s.insert(s.begin() + rng() % (s.size() + 1), static_cast<char>(rng()));
      }
    }
    const bool want = simdjson::validate_utf8(s.data(), s.size());
    ASSERT_EQ(utf8_valid(s), want) << iter;
    ASSERT_EQ(valid_split(s, s.empty() ? 0 : rng() % s.size()), want) << iter;
    ASSERT_EQ(fail_index_bytewise(s) == kValid, want) << iter;
    (want ? valid_seen : invalid_seen)++;
  }
  EXPECT_GT(valid_seen, 1000);
  EXPECT_GT(invalid_seen, 1000);
}

// Long text (the whole-sequence inner loop runs until 4 bytes from the end
// of each piece), mutated, fed whole and cut into up to five pieces at random
// points: the verdict always matches simdjson's, and a failing feed is the
// one holding the first bad byte.
TEST(Utf8, LongTextInPiecesMatchesSimdjson) {
  std::mt19937 rng(4242);
  const uint32_t ranges[][2] = {
      {0x20, 0x7E}, {0x80, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFF}, {0x10000, 0x10FFFF}};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s;
    const int cps = rng() % 400;
    for (int k = 0; k < cps; ++k) {
      if (rng() % 8 == 0) s.append(rng() % 40, 'a');
      const auto& r = ranges[rng() % 5];
      s += encode(r[0] + rng() % (r[1] - r[0] + 1));
    }
    if (!s.empty() && rng() % 2) s[rng() % s.size()] = static_cast<char>(rng());
    const bool want = simdjson::validate_utf8(s.data(), s.size());
    ASSERT_EQ(utf8_valid(s), want) << iter;
    const size_t first_bad = fail_index_bytewise(s);
    std::vector<size_t> cuts{0, s.size()};
    for (int c = rng() % 5; c > 0; --c) cuts.push_back(s.empty() ? 0 : rng() % s.size());
    std::sort(cuts.begin(), cuts.end());
    Utf8Validator v;
    for (size_t k = 0; k + 1 < cuts.size(); ++k) {
      const bool fed = v.feed(u8(s) + cuts[k], cuts[k + 1] - cuts[k]);
      // A feed fails exactly when the first bad byte is in it or earlier.
      const bool bad_so_far =
          first_bad < cuts[k + 1] && first_bad != kValid && first_bad != kTruncated;
      ASSERT_EQ(fed, !bad_so_far) << iter << " piece " << k;
    }
    ASSERT_EQ(v.complete(), want) << iter;
  }
}

TEST(Utf8, LengthMatchesLeadByteCount) {
  std::mt19937 rng(5);
  // Up to 5000 bytes: past the 255 words after which the lane sums are folded.
  for (int iter = 0; iter < 300; ++iter) {
    std::string s(rng() % 5000, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    size_t want = 0;
    for (char c : s) want += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    ASSERT_EQ(utf8_length(s), want) << iter;
  }
  EXPECT_EQ(utf8_length(std::string(4096, '\x80')), 0u);
  EXPECT_EQ(utf8_length(std::string(4096, '\xff')), 4096u);
}

TEST(Utf8, LengthCountsCodePoints) {
  struct {
    std::string_view s;
    size_t n;
  } cases[] = {
      {"", 0},
      {"a", 1},
      {"0123456789abcdefXYZ", 19},
      {"Ol\xc3\xa1!", 4},
      {"\xe2\x82\xac\xf0\x9f\x98\x80", 2},
      {"aaaaaaaa\xc3\xa9"
       "aaaaaaaa\xc3\xa9",
       18},
  };
  for (const auto& c : cases) EXPECT_EQ(utf8_length(c.s), c.n) << c.s;
  EXPECT_EQ(utf8_length(std::string(2000, 'x')), 2000u);
}

TEST(Utf8, NextDecodesAndStopsOnBadBytes) {
  std::string_view s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  std::vector<char32_t> got;
  size_t i = 0;
  char32_t cp;
  while (utf8_next(s, i, cp)) got.push_back(cp);
  EXPECT_EQ(got, (std::vector<char32_t>{U'a', U'\u00e9', U'\u20ac', U'\U0001F600'}));
  EXPECT_EQ(i, s.size());

  const std::string_view bad[] = {
      "\x80", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\xc3(", "\xff"};
  for (std::string_view b : bad) {
    size_t j = 0;
    char32_t c = 7;
    EXPECT_FALSE(utf8_next(b, j, c)) << b;
    EXPECT_EQ(j, 0u);
    EXPECT_EQ(c, 7u);
  }
}

}  // namespace
}  // namespace chatd
