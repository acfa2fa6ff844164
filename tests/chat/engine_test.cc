// ChatEngine end to end through the test driver (chat_driver.h): a version 1
// conversation, rooms, the room-less msg rule, leave and disconnect, and the
// lifetime of the shared blocks.
#include "chat/engine.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "chat_driver.h"

#if defined(__SANITIZE_ADDRESS__)
// From <sanitizer/allocator_interface.h>, which g++ does not install.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace chatd {
namespace {

using test::Chat;
using test::frame_payload;
using test::Held;
using test::hold;
using test::kWall;
using test::Lines;

// A version 1 client names no room anywhere: it gets the version 1
// conversation in `general` (the version 1 welcome: nick and users only),
// every event now carrying "room":"general".
TEST(ChatEngine, Version1ConversationLivesInGeneral) {
  Chat c;
  EXPECT_EQ(c.join(1, "alice"), "") << "a join's answer is its welcome, after numbering";
  EXPECT_EQ(c.take(1), (Lines{"welcome <none> alice [alice] last=<none> resumed=false",
                              "general #1 join alice"}));
  EXPECT_EQ(c.raw(1)[0], R"({"type":"welcome","nick":"alice","users":["alice"]})");
  c.join(2, "bob");
  EXPECT_EQ(c.take(1), (Lines{"general #2 join bob"}));
  EXPECT_EQ(c.take(2), (Lines{"welcome <none> bob [alice,bob] last=<none> resumed=false",
                              "general #2 join bob"}));
  EXPECT_EQ(c.raw(2)[0], R"({"type":"welcome","nick":"bob","users":["alice","bob"]})");
  EXPECT_EQ(c.say(1, "hi", {}, 5), "");
  EXPECT_EQ(c.take(1), (Lines{"general #3 alice: hi"})) << "the sender's copy is its ack";
  EXPECT_EQ(c.take(2), (Lines{"general #3 alice: hi"}));
  EXPECT_EQ(c.raw(2).back(), R"({"type":"msg","room":"general","nick":"alice","msg":"hi","id":3,)"
                             R"("ts":1764100000005})");
  EXPECT_EQ(c.raw(2)[1], R"({"type":"system","room":"general","event":"join","nick":"bob",)"
                         R"("text":"bob joined","id":2,"ts":1764100000000})");
  c.disconnect(2, 9);
  EXPECT_EQ(c.take(1), (Lines{"general #4 leave bob"}));
  EXPECT_EQ(c.take(2), Lines{}) << "a closed connection gets nothing";
  EXPECT_EQ(c.room("general").size(), 1u);
  c.say(1, "x");
  EXPECT_EQ(c.take(1), (Lines{"general #5 alice: x"}));
  // The nick is free again, and a reused slot starts a fresh session; a
  // client that names the room gets the version 2 welcome.
  c.send(2, R"({"type":"join","room":"general","nick":"bob"})");
  EXPECT_EQ(c.take(2),
            (Lines{"welcome general bob [alice,bob] last=5 resumed=false", "general #6 join bob"}));
  EXPECT_EQ(c.epoch(2, "general").size(), 8u);
}

// A membership costs a 16-byte Member, not a copy of the nick: every room
// holds the same nick block of its connection.
TEST(ChatEngine, MembershipsOfOneConnectionShareOneNickBlock) {
  Chat c;
  c.join(1, std::string(30, 'n'), "a");
  c.join(1, {}, "b");
  c.join(1, {}, "c");
  const Block* nick = c.room("a").members()[0].nick_block.get();
  ASSERT_NE(nick, nullptr);
  EXPECT_EQ(c.room("a").members()[0].nick(), std::string(30, 'n'));
  EXPECT_EQ(c.room("b").members()[0].nick_block.get(), nick);
  EXPECT_EQ(c.room("c").members()[0].nick_block.get(), nick);
  EXPECT_EQ(nick->refs, 4u) << "three rooms and the nick table";
}

TEST(ChatEngine, NickIsStoredTrimmedAndUsedForEvents) {
  Chat c;
  c.join(3, "\\u3000 alice\\t");
  EXPECT_EQ(c.take(3), (Lines{"welcome <none> alice [alice] last=<none> resumed=false",
                              "general #1 join alice"}));
  EXPECT_EQ(c.room("general").members()[0].nick(), "alice");
  c.say(3, "yo");
  EXPECT_EQ(c.take(3), (Lines{"general #2 alice: yo"}));
  EXPECT_EQ(c.join(4, "ALICE "), "error nick_taken");
}

TEST(ChatEngine, RoomsHaveTheirOwnIdsMembersAndEvents) {
  Chat c;
  c.join(1, "alice", "dev");
  c.join(1, {}, "general");  // a later join may omit the nick
  c.join(2, "bob", "general");
  c.join(3, "carol", "dev");
  c.take(1), c.take(2), c.take(3);
  c.say(1, "to dev", "dev");
  c.say(2, "to general", "general");
  EXPECT_EQ(c.take(1), (Lines{"dev #3 alice: to dev", "general #3 bob: to general"}));
  EXPECT_EQ(c.take(2), (Lines{"general #3 bob: to general"}));
  EXPECT_EQ(c.take(3), (Lines{"dev #3 alice: to dev"}));
  c.join(2, "bob", "dev");  // the connection's own nick may be repeated
  EXPECT_EQ(c.take(2),
            (Lines{"welcome dev bob [alice,carol,bob] last=3 resumed=false", "dev #4 join bob"}));
  EXPECT_EQ(c.take(1), (Lines{"dev #4 join bob"}));
  EXPECT_EQ(c.join(2, " bob ", "x"), "") << "compared trimmed";
  EXPECT_EQ(c.join(2, "Bob", "y"), "error bad_field room=y") << "not another spelling";
  EXPECT_EQ(c.join(2, "carol", "z"), "error bad_field room=z");
  EXPECT_NE(c.epoch(1, "dev"), c.epoch(1, "general")) << "one epoch per room";
  EXPECT_EQ(c.engine.room_count(), 3u);
  EXPECT_EQ(c.engine.occupied_rooms(), 3u);
  EXPECT_EQ(c.engine.participants(), 3u);
  EXPECT_EQ(c.engine.counters().memberships, 6u);
}

// A msg without room goes to the connection's only room; with several (or
// none) it means general.
TEST(ChatEngine, RoomlessMsgRule) {
  Chat c;
  c.join(1, "alice", "dev");
  c.take(1);
  EXPECT_EQ(c.say(1, "one room"), "");
  EXPECT_EQ(c.take(1), (Lines{"dev #2 alice: one room"}));
  c.join(1, {}, "ops");
  c.take(1);
  EXPECT_EQ(c.say(1, "two rooms, neither general"), "error not_joined");
  c.join(1, {}, "general");
  c.take(1);
  EXPECT_EQ(c.say(1, "three rooms"), "");
  EXPECT_EQ(c.take(1), (Lines{"general #2 alice: three rooms"}));
  c.leave(1, "general");
  c.leave(1, "ops");
  c.take(1);
  EXPECT_EQ(c.say(1, "back to one"), "");
  EXPECT_EQ(c.take(1), (Lines{"dev #3 alice: back to one"}));
  // leave and history follow the same rule.
  EXPECT_EQ(c.send(1, R"({"type":"history","limit":1})"), "history dev [3] more=true");
  c.take(1);
  EXPECT_EQ(c.leave(1), "");
  EXPECT_EQ(c.take(1), (Lines{"dev #4 leave alice"}));
  EXPECT_EQ(c.say(1, "no room"), "error not_joined");
  EXPECT_EQ(c.leave(1), "error not_joined");
}

// A leave message: one event in that room, sent to the leaver too; the
// connection keeps its nick and may come back without giving it again.
TEST(ChatEngine, LeaveReachesTheLeaverAndKeepsTheNick) {
  Chat c;
  c.join(1, "alice", "dev");
  c.join(2, "bob", "dev");
  c.join(2, {}, "general");
  c.take(1), c.take(2);
  EXPECT_EQ(c.leave(2, "dev"), "");
  EXPECT_EQ(c.take(1), (Lines{"dev #3 leave bob"}));
  EXPECT_EQ(c.take(2), (Lines{"dev #3 leave bob"})) << "the Applied event, to the leaver";
  c.say(1, "bob is gone", "dev");
  EXPECT_EQ(c.take(2), Lines{});
  EXPECT_EQ(c.leave(2, "dev"), "error not_joined room=dev");
  EXPECT_EQ(c.room("dev").size(), 1u);
  c.leave(2, "general");
  c.take(2);
  EXPECT_EQ(c.engine.participants(), 2u) << "in no room, still holding its nick";
  EXPECT_EQ(c.join(3, "BOB"), "error nick_taken");
  c.join(2, {}, "dev");
  EXPECT_EQ(c.take(2),
            (Lines{"welcome dev bob [alice,bob] last=4 resumed=false", "dev #5 join bob"}));
}

// The connection ends: one leave per room it was in, in join order, to the
// others only; its nick is free at once.
TEST(ChatEngine, DisconnectLeavesEveryRoomAndFreesTheNick) {
  Chat c;
  c.join(1, "alice", "a");
  c.join(1, {}, "b");
  c.join(1, {}, "c");
  c.join(2, "bob", "b");
  c.join(2, {}, "c");
  c.take(1), c.take(2);
  std::vector<Proposal> out;
  c.engine.on_disconnect(c.sessions[1], 1, out);
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].kind, EventKind::leave);
    EXPECT_EQ(out[i].member, 1u);
    EXPECT_EQ(out[i].nick, "alice");
    EXPECT_EQ(out[i].room->name(), std::string(1, char('a' + i)));
  }
  std::vector<Held> held;
  for (const Proposal& p : out) held.push_back(hold(p));
  EXPECT_EQ(c.engine.participants(), 1u);
  EXPECT_EQ(c.join(3, "Alice"), "") << "the nick is free before the leaves are applied";
  c.sessions[1] = Session{};
  for (const Held& h : held) c.apply(h, kNoMember);
  EXPECT_EQ(c.take(2), (Lines{"b #3 leave alice", "c #3 leave alice"}));
  EXPECT_EQ(c.take(1), Lines{});
  out.clear();
  c.engine.on_disconnect(c.sessions[1], 1, out);
  EXPECT_TRUE(out.empty()) << "only once";
  Session never;
  c.engine.on_disconnect(never, 9, out);
  EXPECT_TRUE(out.empty()) << "a connection that never joined leaves nothing";
  c.send(4, "garbage");
  c.engine.on_disconnect(c.sessions[4], 4, out);
  EXPECT_TRUE(out.empty());
}

TEST(ChatEngine, MsgCarriesControlCharactersUnchanged) {
  Chat c;
  c.join(1, "a");
  c.say(1, R"(tab\tnul\u0000del)"
           "\x7F"
           R"( \"q\")");
  std::string p = c.raw(1).back();
  simdjson::dom::parser parser;
  std::string_view msg;
  ASSERT_EQ(parser.parse(p)["msg"].get(msg), simdjson::SUCCESS);
  EXPECT_EQ(msg, std::string_view("tab\tnul\0del\x7F \"q\"", 16));
}

TEST(ChatEngine, ErrorFramesWithoutRoomOrRefAreShared) {
  Chat c;
  Outcome e1 = c.on_text(1, "x");
  Outcome e2 = c.on_text(2, "y");
  ASSERT_TRUE(e1.reply && e2.reply);
  EXPECT_EQ(e1.reply.get(), e2.reply.get());
  EXPECT_EQ(e1.reply->refs, 3u);  // the engine's copy plus two replies
  Outcome r1 = c.on_text(1, R"({"type":"msg","room":"dev","msg":"m"})");
  Outcome r2 = c.on_text(1, R"({"type":"msg","room":"dev","msg":"m"})");
  EXPECT_NE(r1.reply.get(), r2.reply.get()) << "a room or ref is the request's own";
  EXPECT_EQ(r1.reply->refs, 1u);
}

TEST(ChatEngine, Counters) {
  Chat c({.rate_per_sec = 1, .burst = 1});
  c.join(1, "a");
  c.join(2, "b");
  c.say(1, "m");
  c.say(1, "over");  // rate_limited
  c.send(1, "{");    // bad_json
  c.send(2, R"({"type":"history"})");
  c.send(2, R"({"type":"history"})");  // rate_limited
  c.disconnect(2);
  const ChatCounters& n = c.engine.counters();
  EXPECT_EQ(n.messages_in, 7u);
  EXPECT_EQ(n.events, 4u);  // 2 joins, 1 msg, 1 leave
  EXPECT_EQ(n.errors, 3u);
  EXPECT_EQ(n.rate_limited, 2u);
  EXPECT_EQ(n.history_requests, 1u);
  EXPECT_EQ(n.memberships, 1u);
  EXPECT_EQ(c.engine.participants(), 1u);
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

// One block per event: the ring's and every member's reference, freed with
// the last of them.
TEST(ChatEngine, EventBlockIsSharedAndFreedWithItsLastReference) {
  ChatEngine engine({.history_memory = 0});  // the ring keeps only the newest
  Session s;
  test::Padded j(R"({"type":"join","nick":"alice"})");
  Outcome o = engine.on_text(s, 1, j.data(), j.size(), 0);
  ASSERT_TRUE(o.has_event);
  Proposal p = o.event;
  engine.apply({p.room, p.kind, ++p.room->sequenced_id, kWall, 1, p.nick, {}, {}}, 0);
  test::Padded m(R"({"type":"msg","msg":")" + std::string(2000, 'x') + R"("})");
  o = engine.on_text(s, 1, m.data(), m.size(), 0);
  p = o.event;
  Applied a =
      engine.apply({p.room, p.kind, ++p.room->sequenced_id, kWall, 1, p.nick, p.text, {}}, 0);
  ASSERT_EQ(a.event->refs, 2u) << "the ring's and ours";
  EXPECT_EQ(p.room->ring().at(2).get(), a.event.get());
  // Fan-out: each member's output queue takes a reference to the one block.
  std::vector<std::vector<BlockRef>> queues(50);
  for (auto& q : queues) q.push_back(a.event);
  Block* raw = a.event.get();
  EXPECT_EQ(raw->refs, 52u);
  a.event = BlockRef();
  // The next event pushes it out of the ring.
  o = engine.on_text(s, 1, m.data(), m.size(), 0);
  p = o.event;
  engine.apply({p.room, p.kind, ++p.room->sequenced_id, kWall, 1, p.nick, p.text, {}}, 0);
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
