#include "app/forwarded.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <vector>

#include "../http/test_request.h"

namespace chatd {
namespace {

// The client address as text, "" for nullopt.
std::string client_of(const std::string& headers, const std::vector<const char*>& trusted) {
  std::vector<Cidr> ranges;
  for (const char* t : trusted) ranges.push_back(*parse_cidr(t));
  ParsedRequest p("GET /ws HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
  auto ss = forwarded_client(p.req, ranges);
  if (!ss) return "";
  char buf[kPeerTextMax];
  format_peer(*ss, buf, sizeof buf);
  std::string s = buf;
  return s.substr(0, s.rfind(':'));  // the port is always 0
}

TEST(ForwardedClient, RightMostUntrustedAddress) {
  const std::vector<const char*> lo = {"127.0.0.0/8"};
  const std::vector<const char*> chain = {"127.0.0.0/8", "10.0.0.0/8"};
  struct Case {
    const char* headers;
    std::vector<const char*> trusted;
    const char* want;
  };
  const Case cases[] = {
      {"X-Forwarded-For: 203.0.113.5\r\n", lo, "203.0.113.5"},
      {"x-forwarded-for: 203.0.113.5\r\n", lo, "203.0.113.5"},
      {"X-Forwarded-For:  203.0.113.5 , 198.51.100.7\r\n", lo, "198.51.100.7"},
      // A client's forged left part is skipped: the proxy appended the real one.
      {"X-Forwarded-For: 1.2.3.4, 203.0.113.5\r\n", lo, "203.0.113.5"},
      // Trusted hops in the chain are skipped from the right.
      {"X-Forwarded-For: 203.0.113.5, 10.1.2.3\r\n", chain, "203.0.113.5"},
      {"X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-For: 10.1.2.3\r\n", chain, "203.0.113.5"},
      // Every hop trusted: the left-most stands for the client.
      {"X-Forwarded-For: 10.0.0.9, 127.0.0.1\r\n", chain, "10.0.0.9"},
      {"X-Forwarded-For: 2001:db8::7\r\n", lo, "[2001:db8::7]"},
      {"X-Forwarded-For: [2001:db8::7]:4711\r\n", lo, "[2001:db8::7]"},
      {"X-Forwarded-For: 203.0.113.5:4711\r\n", lo, "203.0.113.5"},
      {"X-Forwarded-For: ,, 203.0.113.5,\r\n", lo, "203.0.113.5"},
      // Garbage where the client should be: the peer's own address stands.
      {"X-Forwarded-For: 203.0.113.5, unknown\r\n", lo, ""},
      {"X-Forwarded-For: evil.example\r\n", lo, ""},
      {"X-Forwarded-For: [::1\r\n", lo, ""},
      {"X-Forwarded-For: \r\n", lo, ""},
      {"Forwarded: for=203.0.113.5\r\n", lo, ""},
      {"", lo, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.headers);
    EXPECT_EQ(client_of(c.headers, c.trusted), c.want);
  }
}

}  // namespace
}  // namespace chatd
