// Test helper: parses a literal request head that the test keeps alive.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "http/request.h"

namespace chatd {

// Owns the bytes so the Request's views stay valid for the test's duration.
struct ParsedRequest {
  std::string raw;
  Request req;
  explicit ParsedRequest(std::string text) : raw(std::move(text)) {
    HeadScan scan;
    ParseResult r = parse_request(raw.data(), raw.size(), scan, req);
    EXPECT_EQ(r.status, ParseStatus::complete) << raw;
  }
};

}  // namespace chatd
