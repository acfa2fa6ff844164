// The Autobahn TestSuite UTF-8 cases (section 6) through the WebSocket reader.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../codec/utf8_cases.h"
#include "ws/reader.h"
#include "ws_test_util.h"

namespace chatd {
namespace {

using namespace test;

TEST(WsReader, AutobahnUtf8SingleFrame) {
  for (const auto& c : kAutobahnUtf8) {
    SCOPED_TRACE(c.name);
    const bool valid = c.fail_at == kValid;
    expect_events(cframe(Opcode::text, c.bytes), {valid ? text(c.bytes) : fail(1007)});
  }
}

// Each byte its own fragment, each followed by a ping carrying its index: the
// pings seen before the 1007 prove the failure comes at the first bad fragment.
TEST(WsReader, AutobahnUtf8FragmentedAtEveryByte) {
  for (const auto& c : kAutobahnUtf8) {
    SCOPED_TRACE(c.name);
    std::string stream;
    std::vector<Ev> want;
    const size_t n = c.bytes.size();
    for (size_t i = 0; i < n; ++i) {
      stream += cframe(i == 0 ? Opcode::text : Opcode::continuation, c.bytes.substr(i, 1), false);
      stream += cframe(Opcode::ping, std::to_string(i));
      if (i < c.fail_at || c.fail_at >= kTruncated) want.push_back(ping(std::to_string(i)));
    }
    if (c.fail_at < n) want.resize(c.fail_at), want.push_back(fail(1007));
    stream += cframe(n == 0 ? Opcode::text : Opcode::continuation, "");
    if (c.fail_at == kValid) want.push_back(text(c.bytes));
    if (c.fail_at == kTruncated) want.push_back(fail(1007));
    expect_events(stream, want);
  }
}

}  // namespace
}  // namespace chatd
