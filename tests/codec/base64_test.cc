#include "codec/base64.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace chatd {
namespace {

// RFC 4648 section 10.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, coded] : cases) {
    EXPECT_EQ(base64_encode(plain, std::strlen(plain)), coded) << plain;
    auto back = base64_decode(coded);
    ASSERT_TRUE(back.has_value()) << coded;
    EXPECT_EQ(*back, plain) << coded;
  }
}

TEST(Base64, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string enc = base64_encode(all.data(), n);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec.has_value()) << n;
    EXPECT_EQ(*dec, all.substr(0, n));
  }
  EXPECT_EQ(base64_encode("\xff\xfe\xfd", 3), "//79");
  EXPECT_EQ(base64_encode("\xfb\xff", 2), "+/8=");
}

TEST(Base64, RejectsNonCanonicalInput) {
  const std::pair<const char*, std::string> cases[] = {
      {"missing padding", "Zg"},
      {"missing one pad", "Zm8"},
      {"length not multiple of 4", "Zm9vY"},
      {"too much padding", "Z==="},
      {"all padding", "===="},
      {"padding in the middle", "Zg==Zm9v"},
      {"pad then data", "Zm=v"},
      {"leading space", " Zm9v"},
      {"trailing newline", "Zm9v\n"},
      {"inner space", "Zm 9v"},
      {"CRLF line break", "Zm9v\r\nZm9v"},
      {"url-safe alphabet -", "-_8="},
      {"url-safe alphabet _", "__8="},
      {"NUL byte", std::string("Zm9\0", 4)},
      {"high byte", "Zm9\xc3"},
      {"non-zero tail bits with ==", "Zh=="},
      {"non-zero tail bits with =", "Zm9="},
      {"dot", "Zm.v"},
  };
  for (const auto& [name, text] : cases) {
    EXPECT_FALSE(base64_decode(text).has_value()) << name;
  }
}

}  // namespace
}  // namespace chatd
