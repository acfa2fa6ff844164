#include "cluster/redis_reply.h"

#include <gtest/gtest.h>

#include <string>

namespace chatd {
namespace {

// Reads one reply from RESP text with hiredis' own reader, as the async
// context does; null if the text is not exactly one complete reply.
struct Parsed {
  redisReply* reply = nullptr;
  explicit Parsed(const std::string& resp) {
    redisReader* r = redisReaderCreate();
    void* out = nullptr;
    if (redisReaderFeed(r, resp.data(), resp.size()) == REDIS_OK &&
        redisReaderGetReply(r, &out) == REDIS_OK)
      reply = static_cast<redisReply*>(out);
    redisReaderFree(r);
  }
  ~Parsed() {
    if (reply) freeReplyObject(reply);
  }
};

TEST(DecodePubSub, Shapes) {
  struct Case {
    const char* name;
    std::string resp;
    bool ok;
    PubSubMessage::Kind kind;
    const char* channel;
    const char* payload;
    long long count;
  };
  using K = PubSubMessage::Kind;
  const Case cases[] = {
      {"message", "*3\r\n$7\r\nmessage\r\n$6\r\nroom:a\r\n$5\r\nhello\r\n", true, K::message,
       "room:a", "hello", 0},
      {"message upper case", "*3\r\n$7\r\nMESSAGE\r\n$1\r\nc\r\n$0\r\n\r\n", true, K::message, "c",
       "", 0},
      {"pmessage", "*4\r\n$8\r\npmessage\r\n$2\r\nr*\r\n$2\r\nr1\r\n$1\r\nx\r\n", true, K::pmessage,
       "r1", "x", 0},
      {"subscribe", "*3\r\n$9\r\nsubscribe\r\n$2\r\nr1\r\n:1\r\n", true, K::subscribe, "r1", "", 1},
      {"unsubscribe", "*3\r\n$11\r\nunsubscribe\r\n$2\r\nr1\r\n:0\r\n", true, K::unsubscribe, "r1",
       "", 0},
      {"unsubscribe from nothing", "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n", true,
       K::unsubscribe, "", "", 0},
      {"psubscribe", "*3\r\n$10\r\npsubscribe\r\n$2\r\nr*\r\n:2\r\n", true, K::psubscribe, "r*", "",
       2},
      {"message with 2 elements", "*2\r\n$7\r\nmessage\r\n$1\r\nc\r\n", false, K::message, "", "",
       0},
      {"message with 4 elements", "*4\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n$1\r\ny\r\n", false,
       K::message, "", "", 0},
      {"message with integer payload", "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n:5\r\n", false,
       K::message, "", "", 0},
      {"kind not a string", "*3\r\n:1\r\n$1\r\nc\r\n$1\r\nx\r\n", false, K::message, "", "", 0},
      {"unknown kind", "*3\r\n$4\r\npong\r\n$1\r\nc\r\n$1\r\nx\r\n", false, K::message, "", "", 0},
      {"subscribe count a string", "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n$1\r\n1\r\n", false,
       K::message, "", "", 0},
      {"subscribe negative count", "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:-1\r\n", false, K::message,
       "", "", 0},
      {"nil element", "*3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\nx\r\n", false, K::message, "", "", 0},
      {"nested array", "*3\r\n$7\r\nmessage\r\n*0\r\n$1\r\nx\r\n", false, K::message, "", "", 0},
      {"status", "+OK\r\n", false, K::message, "", "", 0},
      {"error", "-ERR no\r\n", false, K::message, "", "", 0},
      {"empty array", "*0\r\n", false, K::message, "", "", 0},
      {"nil array", "*-1\r\n", false, K::message, "", "", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Parsed p(c.resp);
    ASSERT_NE(p.reply, nullptr);
    PubSubMessage m;
    ASSERT_EQ(decode_pubsub(p.reply, m), c.ok);
    if (!c.ok) continue;
    EXPECT_EQ(m.kind, c.kind);
    EXPECT_EQ(m.channel, c.channel);
    EXPECT_EQ(m.payload, c.payload);
    EXPECT_EQ(m.count, c.count);
  }
  PubSubMessage m;
  EXPECT_FALSE(decode_pubsub(nullptr, m));
}

TEST(DecodePubSub, PayloadMayHoldAnyByte) {
  std::string payload("a\0b\r\nc", 6);
  Parsed p("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$6\r\n" + payload + "\r\n");
  ASSERT_NE(p.reply, nullptr);
  PubSubMessage m;
  ASSERT_TRUE(decode_pubsub(p.reply, m));
  EXPECT_EQ(m.payload, payload);
}

TEST(DecodePublishResult, Shapes) {
  struct Case {
    const char* name;
    std::string resp;
    ReplyStatus status;
    uint64_t id;
    const char* epoch_or_error;
  };
  const Case cases[] = {
      {"id and epoch", "*2\r\n:41\r\n$6\r\nk3x9q2\r\n", ReplyStatus::ok, 41, "k3x9q2"},
      {"extra elements", "*4\r\n:1\r\n$1\r\ne\r\n:1700000000000\r\n$-1\r\n", ReplyStatus::ok, 1,
       "e"},
      {"NOSCRIPT", "-NOSCRIPT No matching script. Please use EVAL.\r\n", ReplyStatus::error_reply,
       0, "NOSCRIPT No matching script. Please use EVAL."},
      {"script error", "-ERR Error running script\r\n", ReplyStatus::error_reply, 0,
       "ERR Error running script"},
      {"id 0", "*2\r\n:0\r\n$1\r\ne\r\n", ReplyStatus::bad_shape, 0, ""},
      {"negative id", "*2\r\n:-3\r\n$1\r\ne\r\n", ReplyStatus::bad_shape, 0, ""},
      {"id as string", "*2\r\n$1\r\n1\r\n$1\r\ne\r\n", ReplyStatus::bad_shape, 0, ""},
      {"epoch as integer", "*2\r\n:1\r\n:7\r\n", ReplyStatus::bad_shape, 0, ""},
      {"empty epoch", "*2\r\n:1\r\n$0\r\n\r\n", ReplyStatus::bad_shape, 0, ""},
      {"epoch too long", "*2\r\n:1\r\n$65\r\n" + std::string(65, 'e') + "\r\n",
       ReplyStatus::bad_shape, 0, ""},
      {"one element", "*1\r\n:1\r\n", ReplyStatus::bad_shape, 0, ""},
      {"nil", "$-1\r\n", ReplyStatus::bad_shape, 0, ""},
      {"integer", ":5\r\n", ReplyStatus::bad_shape, 0, ""},
      {"status", "+OK\r\n", ReplyStatus::bad_shape, 0, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Parsed p(c.resp);
    ASSERT_NE(p.reply, nullptr);
    PublishResult r;
    std::string_view error;
    ASSERT_EQ(decode_publish_result(p.reply, r, error), c.status);
    if (c.status == ReplyStatus::ok) {
      EXPECT_EQ(r.id, c.id);
      EXPECT_EQ(r.epoch, c.epoch_or_error);
    } else if (c.status == ReplyStatus::error_reply) {
      EXPECT_EQ(error, c.epoch_or_error);
    }
  }
  PublishResult r;
  std::string_view error;
  EXPECT_EQ(decode_publish_result(nullptr, r, error), ReplyStatus::bad_shape);
}

TEST(DecodeEventPayload, Shapes) {
  struct Case {
    const char* payload;
    bool ok;
    const char* epoch;
    uint64_t id;
    const char* body;
  };
  const Case cases[] = {
      {"k3x9q2 42 {\"type\":\"msg\"}", true, "k3x9q2", 42, "{\"type\":\"msg\"}"},
      {"e 1 x", true, "e", 1, "x"},
      {"e 1 body with spaces", true, "e", 1, "body with spaces"},
      {"e 999999999999999999 x", true, "e", 999999999999999999ull, "x"},
      {"e 1000000000000000000 x", false, "", 0, ""},  // 19 digits: past the bound
      {"e 0 x", false, "", 0, ""},
      {"e 01 x", false, "", 0, ""},
      {"e -1 x", false, "", 0, ""},
      {"e 1", false, "", 0, ""},
      {"e 1 ", false, "", 0, ""},
      {"e  1 x", false, "", 0, ""},
      {" 1 x", false, "", 0, ""},
      {"e x1 y", false, "", 0, ""},
      {"", false, "", 0, ""},
      {"nospace", false, "", 0, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.payload);
    EventPayload e;
    ASSERT_EQ(decode_event_payload(c.payload, e), c.ok);
    if (!c.ok) continue;
    EXPECT_EQ(e.epoch, c.epoch);
    EXPECT_EQ(e.id, c.id);
    EXPECT_EQ(e.body, c.body);
  }
  EventPayload e;
  EXPECT_FALSE(decode_event_payload(std::string(65, 'e') + " 1 x", e));
  EXPECT_TRUE(decode_event_payload(std::string(64, 'e') + " 1 x", e));
}

TEST(IsNoscript, OnlyTheNoscriptError) {
  Parsed a("-NOSCRIPT No matching script.\r\n"), b("-ERR x\r\n"), c("$8\r\nNOSCRIPT\r\n");
  EXPECT_TRUE(is_noscript(a.reply));
  EXPECT_FALSE(is_noscript(b.reply));
  EXPECT_FALSE(is_noscript(c.reply));
  EXPECT_FALSE(is_noscript(nullptr));
}

}  // namespace
}  // namespace chatd
