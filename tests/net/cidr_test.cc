#include "net/cidr.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

IpKey key(const char* literal) {
  sockaddr_storage ss;
  EXPECT_TRUE(parse_ip_literal(literal, ss)) << literal;
  return ip_key(ss, 128);
}

TEST(Cidr, ParsesRangesAndRefusesTypos) {
  struct Case {
    const char* text;
    bool ok;
    int bits;
  };
  const Case cases[] = {
      {"127.0.0.0/8", true, 104},
      {"10.0.0.0/8", true, 104},
      {"192.168.1.7", true, 128},
      {"0.0.0.0/0", true, 96},
      {"::1", true, 128},
      {"2001:db8::/32", true, 32},
      {"::/0", true, 0},
      {"fd00::/8", true, 8},
      {"10.0.0.1/8", false, 0},
      {"10.0.0.0/33", false, 0},
      {"2001:db8::/129", false, 0},
      {"10.0.0.0/", false, 0},
      {"10.0.0.0/x", false, 0},
      {"10.0.0/8", false, 0},
      {"host/8", false, 0},
      {"", false, 0},
      {"/8", false, 0},
      {"10.0.0.0/08x", false, 0},
      {"[::1]", false, 0},
      {"::1/-1", false, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = parse_cidr(c.text);
    ASSERT_EQ(r.has_value(), c.ok);
    if (c.ok) {
      EXPECT_EQ(r->bits, c.bits);
    }
  }
}

TEST(Cidr, MatchesV4InTheMappedSpaceAndV6ByPrefix) {
  auto lo = *parse_cidr("127.0.0.0/8");
  EXPECT_TRUE(cidr_contains(lo, key("127.0.0.1")));
  EXPECT_TRUE(cidr_contains(lo, key("127.255.3.4")));
  EXPECT_TRUE(cidr_contains(lo, key("::ffff:127.0.0.1")));  // from a dual-stack listener
  EXPECT_FALSE(cidr_contains(lo, key("128.0.0.1")));
  EXPECT_FALSE(cidr_contains(lo, key("::1")));
  auto odd = *parse_cidr("10.0.0.0/12");  // a prefix that ends mid-byte
  EXPECT_TRUE(cidr_contains(odd, key("10.15.255.255")));
  EXPECT_FALSE(cidr_contains(odd, key("10.16.0.0")));
  auto v6 = *parse_cidr("2001:db8::/32");
  EXPECT_TRUE(cidr_contains(v6, key("2001:db8:1::5")));
  EXPECT_FALSE(cidr_contains(v6, key("2001:db9::5")));
  auto all4 = *parse_cidr("0.0.0.0/0");
  EXPECT_TRUE(cidr_contains(all4, key("8.8.8.8")));
  EXPECT_FALSE(cidr_contains(all4, key("2001:db8::1")));
  auto all = *parse_cidr("::/0");
  EXPECT_TRUE(cidr_contains(all, key("2001:db8::1")));
  EXPECT_TRUE(cidr_contains(all, key("8.8.8.8")));
  Cidr ranges[] = {lo, v6};
  EXPECT_TRUE(in_any(ranges, key("2001:db8::9")));
  EXPECT_FALSE(in_any(ranges, key("192.0.2.1")));
  EXPECT_FALSE(in_any({}, key("127.0.0.1")));
}

}  // namespace
}  // namespace chatd
