#include "cluster/reply_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace chatd {
namespace {

// Feeds `resp` to a bounded reader; returns REDIS_OK or REDIS_ERR of the
// first GetReply, freeing any reply.
int read_one(const std::string& resp, std::string* error = nullptr) {
  redisReader* r = redisReaderCreate();
  bound_replies(r);
  void* reply = nullptr;
  int status = redisReaderFeed(r, resp.data(), resp.size());
  if (status == REDIS_OK) status = redisReaderGetReply(r, &reply);
  if (error) *error = r->errstr;
  if (reply) freeReplyObject(reply);
  redisReaderFree(r);
  return status;
}

TEST(ReplyLimits, HugeArrayHeadersFailTheReaderInsteadOfAllocating) {
  std::string error;
  EXPECT_EQ(read_one("*2147483647\r\n", &error), REDIS_ERR);
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(read_one("*" + std::to_string(kMaxReplyElements + 1) + "\r\n"), REDIS_ERR);
  EXPECT_EQ(read_one("*-2\r\n"), REDIS_ERR);
}

TEST(ReplyLimits, OrdinaryRepliesAreUntouched) {
  EXPECT_EQ(read_one("*3\r\n:1\r\n$1\r\na\r\n*-1\r\n"), REDIS_OK);
  EXPECT_EQ(read_one("*0\r\n"), REDIS_OK);
  EXPECT_EQ(read_one("*-1\r\n"), REDIS_OK);
  EXPECT_EQ(read_one("+OK\r\n"), REDIS_OK);
  // A header at the bound is accepted (its elements simply have not come yet).
  EXPECT_EQ(read_one("*" + std::to_string(kMaxReplyElements) + "\r\n"), REDIS_OK);
}

}  // namespace
}  // namespace chatd
