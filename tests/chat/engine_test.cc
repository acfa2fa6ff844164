// ChatEngine end to end: joins, welcome, events with consecutive ids, every
// error code, leave on disconnect, and the lifetime of the shared blocks.
#include "chat/engine.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "chat_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
// From <sanitizer/allocator_interface.h>, which g++ does not install.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace chatd {
namespace {

using test::frame_payload;
using test::Padded;

constexpr int64_t kWall = 1764100000000;

// Drives an engine like the app does: one Session per connection slot.
class Chat {
 public:
  explicit Chat(ChatLimits limits = {}) : engine(limits), sessions(16) {}

  ChatEngine::Outcome send(MemberId id, std::string_view json, int64_t mono = 0) {
    Padded in(json);
    std::string before(in.all());
    auto out = engine.on_text(sessions[id], id, in.data(), in.size(), kWall + mono, mono);
    EXPECT_EQ(before, in.all()) << "input and padding untouched";
    return out;
  }
  ChatEngine::Outcome join(MemberId id, std::string_view nick) {
    return send(id, R"({"type":"join","nick":")" + std::string(nick) + R"("})");
  }
  ChatEngine::Outcome say(MemberId id, std::string_view text, int64_t mono = 0) {
    return send(id, R"({"type":"msg","msg":")" + std::string(text) + R"("})", mono);
  }

  ChatEngine engine;
  std::vector<Session> sessions;
};

// The `code` of an error reply, or "" if the outcome is not a lone error.
std::string error_of(const ChatEngine::Outcome& o) {
  if (!o.reply || o.broadcast) return "";
  std::string p = frame_payload(o.reply);
  std::string prefix = R"({"type":"error","code":")";
  if (p.compare(0, prefix.size(), prefix) != 0) return "";
  return p.substr(prefix.size(), p.find('"', prefix.size()) - prefix.size());
}

TEST(ChatEngine, JoinWelcomeAndConsecutiveEventIds) {
  Chat c;
  auto a = c.join(1, "alice");
  EXPECT_EQ(frame_payload(a.reply), R"({"type":"welcome","nick":"alice","users":["alice"]})");
  EXPECT_EQ(frame_payload(a.broadcast),
            R"({"type":"system","event":"join","nick":"alice","text":"alice joined","id":1,)"
            R"("ts":1764100000000})");
  auto b = c.join(2, "bob");
  EXPECT_EQ(frame_payload(b.reply), R"({"type":"welcome","nick":"bob","users":["alice","bob"]})");
  EXPECT_NE(frame_payload(b.broadcast).find(R"("id":2,)"), std::string::npos);
  auto m = c.say(1, "hi", 5);
  EXPECT_FALSE(m.reply);
  EXPECT_EQ(frame_payload(m.broadcast),
            R"({"type":"msg","nick":"alice","msg":"hi","id":3,"ts":1764100000005})");
  EXPECT_EQ(c.engine.room().size(), 2u);
  BlockRef leave = c.engine.on_disconnect(c.sessions[2], 2, kWall + 9);
  EXPECT_EQ(frame_payload(leave),
            R"({"type":"system","event":"leave","nick":"bob","text":"bob left","id":4,)"
            R"("ts":1764100000009})");
  EXPECT_EQ(c.engine.room().size(), 1u);
  EXPECT_FALSE(c.sessions[2].joined);
  EXPECT_EQ(frame_payload(c.say(1, "x").broadcast).find(R"("id":5,)") != std::string::npos, true);
}

TEST(ChatEngine, NickIsStoredTrimmedAndUsedForEvents) {
  Chat c;
  auto a = c.join(3, "\\u3000 alice\\t");
  EXPECT_EQ(frame_payload(a.reply), R"({"type":"welcome","nick":"alice","users":["alice"]})");
  EXPECT_NE(frame_payload(a.broadcast).find(R"("text":"alice joined")"), std::string::npos);
  EXPECT_EQ(c.engine.room().members()[0].nick, "alice");
  EXPECT_NE(frame_payload(c.say(3, "yo").broadcast).find(R"("nick":"alice")"), std::string::npos);
}

TEST(ChatEngine, EveryErrorCode) {
  Chat c({.rate_per_sec = 1, .burst = 2});
  EXPECT_EQ(error_of(c.send(1, "nope")), "bad_json");
  EXPECT_EQ(error_of(c.send(1, R"({"type":"hello"})")), "bad_type");
  EXPECT_EQ(error_of(c.send(1, R"({"type":"join"})")), "bad_field");
  EXPECT_EQ(error_of(c.say(1, "early")), "not_joined");
  EXPECT_EQ(error_of(c.join(1, "   ")), "nick_invalid");
  EXPECT_EQ(error_of(c.join(1, std::string(33, 'a'))), "nick_invalid");
  EXPECT_EQ(error_of(c.join(1, "a\\u0007b")), "nick_invalid");
  ASSERT_FALSE(c.sessions[1].joined);
  ASSERT_TRUE(c.join(1, "Alice").broadcast);
  EXPECT_EQ(error_of(c.join(1, "Alice")), "already_joined");
  EXPECT_EQ(error_of(c.join(1, "other")), "already_joined");
  EXPECT_EQ(error_of(c.join(2, "ALICE")), "nick_taken");
  EXPECT_EQ(error_of(c.join(2, " alice ")), "nick_taken");
  EXPECT_EQ(frame_payload(c.join(2, "alice").reply),
            R"({"type":"error","code":"nick_taken","message":"that nickname is in use"})");
  EXPECT_EQ(error_of(c.say(1, "")), "msg_invalid");
  EXPECT_EQ(error_of(c.say(1, "\\u00a0\\u3000 ")), "msg_invalid");
  EXPECT_EQ(error_of(c.say(1, std::string(2001, 'x'))), "msg_invalid");
  EXPECT_TRUE(c.say(1, "one", 0).broadcast);
  EXPECT_TRUE(c.say(1, "two", 0).broadcast);
  EXPECT_EQ(error_of(c.say(1, "three", 0)), "rate_limited");
  EXPECT_EQ(error_of(c.say(1, "three", 999)), "rate_limited");
  auto later = c.say(1, "three", 1000);
  ASSERT_TRUE(later.broadcast);
  // Errors and rejected messages consume no ids: join was 1, then 2 and 3.
  EXPECT_NE(frame_payload(later.broadcast).find(R"("id":4,)"), std::string::npos);
  const ChatCounters& n = c.engine.counters();
  EXPECT_EQ(n.events, 4u);
  EXPECT_EQ(n.rate_limited, 2u);
  EXPECT_EQ(n.errors, 17u);
  EXPECT_EQ(n.messages_in, 21u);
}

TEST(ChatEngine, ErrorsChangeNothing) {
  Chat c;
  c.join(1, "alice");
  c.join(2, "bob");
  for (auto json : {"x", R"({"type":"join","nick":"carol"})", R"({"type":"msg","msg":" "})"}) {
    c.send(1, json);
    c.send(2, json);
  }
  ASSERT_EQ(c.engine.room().size(), 2u);
  EXPECT_EQ(c.engine.room().members()[0].nick, "alice");
  EXPECT_EQ(c.engine.room().next_id(), 3u);
}

TEST(ChatEngine, JoinsAreNotRateLimited) {
  Chat c({.rate_per_sec = 1, .burst = 1});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(error_of(c.join(1, "")), "nick_invalid");
  ASSERT_TRUE(c.join(1, "a").broadcast);
  EXPECT_TRUE(c.say(1, "first").broadcast);
  EXPECT_EQ(error_of(c.say(1, "second")), "rate_limited");
}

TEST(ChatEngine, RateZeroDisablesTheLimit) {
  Chat c({.rate_per_sec = 0, .burst = 1});
  c.join(1, "a");
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(c.say(1, "spam").broadcast) << i;
}

TEST(ChatEngine, LeaveOnlyIfJoined) {
  Chat c;
  EXPECT_FALSE(c.engine.on_disconnect(c.sessions[1], 1, kWall));
  c.join(1, "x");
  c.send(2, "garbage");
  EXPECT_FALSE(c.engine.on_disconnect(c.sessions[2], 2, kWall));
  EXPECT_TRUE(c.engine.on_disconnect(c.sessions[1], 1, kWall));
  EXPECT_FALSE(c.engine.on_disconnect(c.sessions[1], 1, kWall)) << "only once";
  EXPECT_EQ(c.engine.room().next_id(), 3u);
  // The nick is free again, and a reused slot starts a fresh session.
  c.sessions[1] = Session{};
  EXPECT_TRUE(c.join(1, "x").broadcast);
}

TEST(ChatEngine, MsgCarriesControlCharactersUnchanged) {
  Chat c;
  c.join(1, "a");
  std::string p = frame_payload(c.say(1, R"(tab\tnul\u0000del)"
                                         "\x7F"
                                         R"( \"q\")")
                                    .broadcast);
  simdjson::dom::parser parser;
  std::string_view msg;
  ASSERT_EQ(parser.parse(p)["msg"].get(msg), simdjson::SUCCESS);
  EXPECT_EQ(msg, std::string_view("tab\tnul\0del\x7F \"q\"", 16));
}

TEST(ChatEngine, ErrorFramesAreSharedNotReencoded) {
  Chat c;
  auto e1 = c.send(1, "x");
  auto e2 = c.send(2, "y");
  ASSERT_TRUE(e1.reply && e2.reply);
  EXPECT_EQ(e1.reply.get(), e2.reply.get());
  EXPECT_EQ(e1.reply->refs, 3u);  // the engine's copy plus two replies
}

// Bytes currently allocated by the heap in use (ASan's or glibc's).
size_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

TEST(ChatEngine, EventBlockIsSharedAndFreedWithItsLastReference) {
  Chat c;
  c.join(1, "alice");
  auto out = c.say(1, std::string(2000, 'x'));
  ASSERT_EQ(out.broadcast->refs, 1u);
  // Fan-out: each member's output queue takes a reference to the one block.
  std::vector<std::vector<BlockRef>> queues(50);
  for (auto& q : queues) q.push_back(out.broadcast);
  EXPECT_EQ(out.broadcast->refs, 51u);
  Block* raw = out.broadcast.get();
  out.broadcast = BlockRef();
  EXPECT_EQ(raw->refs, 50u);
  for (size_t i = 0; i + 1 < queues.size(); ++i) queues[i].clear();
  EXPECT_EQ(raw->refs, 1u);
  size_t size = sizeof(Block) + raw->capacity;
  size_t before = heap_in_use();
  queues.back().clear();
  EXPECT_GE(before - heap_in_use(), size) << "the last reference frees the block";
}

}  // namespace
}  // namespace chatd
