#include "ws/close.h"

#include <gtest/gtest.h>

#include <string>

namespace chatd {
namespace {

// RFC 6455 7.4 plus the IANA-registered 1012-1014, as ranges.
TEST(Close, EveryCodeAgainstTheRangeTable) {
  struct {
    uint32_t lo, hi;
    bool valid;
  } ranges[] = {
      {0, 999, false},     {1000, 1003, true}, {1004, 1006, false},
      {1007, 1011, true},  {1012, 1014, true}, {1015, 1015, false},
      {1016, 2999, false}, {3000, 4999, true}, {5000, 65535, false},
  };
  for (const auto& r : ranges)
    for (uint32_t c = r.lo; c <= r.hi; ++c)
      ASSERT_EQ(close_code_valid(static_cast<uint16_t>(c)), r.valid) << c;
}

TEST(Close, PayloadRules) {
  struct {
    const char* name;
    std::string payload;
    bool valid;
    uint16_t code;
    std::string reason;
  } cases[] = {
      {"empty echoes 1000", "", true, 1000, ""},
      {"one byte", "\x03", false, 1002, ""},
      {"1000", std::string("\x03\xe8", 2), true, 1000, ""},
      {"1001 with reason", std::string("\x03\xe9") + "bye", true, 1001, "bye"},
      {"4999 utf8 reason", std::string("\x13\x87") + "\xc3\xa9t\xc3\xa9", true, 4999,
       "\xc3\xa9t\xc3\xa9"},
      {"1005 reserved", std::string("\x03\xed", 2), false, 1002, ""},
      {"999", std::string("\x03\xe7", 2), false, 1002, ""},
      {"0", std::string("\x00\x00", 2), false, 1002, ""},
      {"bad utf8 reason", std::string("\x03\xe8") + "\xff", false, 1007, ""},
      {"truncated utf8 reason", std::string("\x03\xe8") + "\xe2\x82", false, 1007, ""},
      {"invalid code wins over reason", std::string("\x03\xee") + "\xff", false, 1002, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    CloseInfo ci =
        parse_close_payload(reinterpret_cast<const uint8_t*>(c.payload.data()), c.payload.size());
    EXPECT_EQ(ci.valid, c.valid);
    EXPECT_EQ(ci.code, c.code);
    EXPECT_EQ(ci.reason, c.reason);
  }
}

}  // namespace
}  // namespace chatd
