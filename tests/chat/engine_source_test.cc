// Events older than a room's ring come from the HistorySource (the store):
// for history requests and for resumes, for rooms loaded at start and rooms
// made since, and only when what it returns has no hole.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/engine.h"
#include "chat_driver.h"

namespace chatd {
namespace {

using test::Chat;
using test::FakeHistory;
using test::kWall;
using test::Lines;

std::string history_line(uint64_t from, uint64_t to, bool more) {
  std::string ids;
  for (uint64_t id = from; id <= to && from != 0; ++id) {
    ids += (ids.empty() ? "" : ",") + std::to_string(id);
  }
  return "history dev [" + ids + "] more=" + (more ? "true" : "false");
}

// A durable store that already holds dev's events 1..500 (msgs by "old"),
// loaded at start with the newest 20 in the ring.
struct Loaded {
  explicit Loaded(bool durable = true, ChatLimits limits = {}) : c(limits, &store, durable) {
    std::vector<PastEvent>& dev = store.rooms["dev"];
    for (uint64_t id = 1; id <= 500; ++id) {
      dev.push_back({EventKind::msg, id, kWall + int64_t(id), "old", "t" + std::to_string(id)});
    }
    std::vector<PastEvent> recent(dev.end() - 20, dev.end());
    c.engine.load_room("dev", "ep000000", 500, 1, recent);
  }
  Lines join(MemberId id, std::string_view nick, std::string_view fields) {
    c.send(id, R"({"type":"join","room":"dev","nick":")" + std::string(nick) + R"(")" +
                   std::string(fields) + "}");
    return c.take(id);
  }
  FakeHistory store;
  Chat c;
};

TEST(Source, LoadedRoomResumesFromTheStore) {
  Loaded l;
  EXPECT_EQ(l.c.room("dev").ring().first_id(), 481u);
  EXPECT_EQ(l.c.room("dev").oldest_available(), 1u);
  Lines got = l.join(1, "alice", R"(,"since":100,"epoch":"ep000000")");
  ASSERT_EQ(got.size(), 1u + 400 + 1);
  EXPECT_EQ(got[0], "welcome dev alice [alice] last=500 resumed=true");
  EXPECT_EQ(got[1], "dev #101 old: t101");
  EXPECT_EQ(got[380], "dev #480 old: t480") << "the last one from the store";
  EXPECT_EQ(got[381], "dev #481 old: t481") << "the first one from the ring";
  EXPECT_EQ(got[400], "dev #500 old: t500");
  EXPECT_EQ(got[401], "dev #501 join alice");
  EXPECT_EQ(l.store.reads, 1u);
  // What the ring holds is served without the store.
  Lines near = l.join(2, "bob", R"(,"since":490,"epoch":"ep000000")");
  EXPECT_EQ(near.size(), 1u + 11 + 1);  // 491..501
  EXPECT_EQ(l.store.reads, 1u);
}

TEST(Source, LoadedRoomHistoryPagesIntoTheStore) {
  Loaded l;
  l.join(1, "alice", "");
  EXPECT_EQ(l.c.send(1, R"({"type":"history","room":"dev","before":481,"limit":5})"),
            history_line(476, 480, true));
  EXPECT_EQ(l.c.send(1, R"({"type":"history","room":"dev","before":101,"limit":200})"),
            history_line(1, 100, false));
  EXPECT_EQ(l.c.send(1, R"({"type":"history","room":"dev","before":490,"limit":15})"),
            history_line(475, 489, true))
      << "part store, part ring";
  // The store's rows are framed exactly as the ring's would be.
  std::string raw = l.c.raw(1).back();
  EXPECT_NE(raw.find(R"({"type":"msg","room":"dev","nick":"old","msg":"t480","id":480,)"
                     R"("ts":1764100000480})"),
            std::string::npos);
}

// Rows missing in the store (a hole) are a gap: never used.
TEST(Source, AHoleInTheStoreIsNotUsed) {
  Loaded l;
  l.store.holes = {400};
  l.join(9, "zed", "");
  EXPECT_EQ(l.c.send(9, R"({"type":"history","room":"dev","before":490,"limit":15})"),
            history_line(475, 489, true))
      << "a hole outside what was asked for does not matter";
  EXPECT_EQ(l.c.send(9, R"({"type":"history","room":"dev","before":490,"limit":200})"),
            history_line(481, 489, true))
      << "only the part the ring holds, and older ones exist";
}

// A read the store fails is no page of history: the requester gets
// `unavailable` (and may retry), never a short page that passes for all
// there is. What the ring holds is still served without the store.
TEST(Source, AFailedReadAnswersUnavailable) {
  Loaded l;
  l.join(9, "zed", "");
  l.store.fail_reads = true;
  EXPECT_EQ(l.c.send(9, R"({"type":"history","room":"dev","before":481,"limit":5,"ref":"h1"})"),
            "error unavailable room=dev ref=h1");
  EXPECT_EQ(l.c.send(9, R"({"type":"history","room":"dev","before":490,"limit":15})"),
            "error unavailable room=dev")
      << "part store, part ring: all or nothing";
  size_t reads = l.store.reads;
  EXPECT_EQ(l.c.send(9, R"({"type":"history","room":"dev","before":490,"limit":5})"),
            history_line(485, 489, true))
      << "the ring alone";
  EXPECT_EQ(l.store.reads, reads);
  l.store.fail_reads = false;
  EXPECT_EQ(l.c.send(9, R"({"type":"history","room":"dev","before":481,"limit":5})"),
            history_line(476, 480, true))
      << "once reads succeed again";
}

// A resume the store cannot serve gap-free is no resume: the client gets
// resumed=false and its history, as when N+1 is gone.
TEST(Source, AHoleInTheStoreIsNoResume) {
  Loaded l;
  l.store.holes = {150};
  Lines got = l.join(1, "alice", R"(,"since":100,"epoch":"ep000000","history":3)");
  EXPECT_EQ(got, (Lines{"welcome dev alice [alice] last=500 resumed=false", "dev #498 old: t498",
                        "dev #499 old: t499", "dev #500 old: t500", "dev #501 join alice"}));
  Lines after = l.join(2, "bob", R"(,"since":150,"epoch":"ep000000")");
  EXPECT_EQ(after.front(), "welcome dev bob [alice,bob] last=501 resumed=true")
      << "after the hole is fine";
  EXPECT_EQ(after.size(), 1u + 351 + 1);
}

// Without a durable store the ring is all there is, whatever load_room says.
TEST(Source, NotDurableMeansRingOnly) {
  Loaded l(false);
  EXPECT_EQ(l.c.room("dev").oldest_available(), 481u);
  Lines gone = l.join(1, "alice", R"(,"since":100,"epoch":"ep000000")");
  EXPECT_EQ(gone,
            (Lines{"welcome dev alice [alice] last=500 resumed=false", "dev #501 join alice"}));
  Lines edge = l.join(2, "bob", R"(,"since":480,"epoch":"ep000000")");
  EXPECT_EQ(edge.front(), "welcome dev bob [alice,bob] last=501 resumed=true");
  EXPECT_EQ(edge.size(), 1u + 21 + 1);
  EXPECT_EQ(l.store.reads, 0u);
}

// A room made while the server runs, with a durable store behind it: once
// its ring lets events go, the store still has them.
TEST(Source, RoomMadeAtRunTimeReadsOlderEventsFromTheStore) {
  FakeHistory store;
  Chat c({.rate_per_sec = 0, .history_memory = 1500}, &store, true);
  c.join(1, "alice", "dev");
  for (int i = 2; i <= 60; ++i) c.say(1, std::string(50, 'x'));
  const std::vector<std::string> sent = c.raw(1);
  uint64_t first = c.room("dev").ring().first_id();
  ASSERT_GT(first, 11u);
  EXPECT_EQ(c.room("dev").oldest_available(), 1u);
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev"})"), history_line(11, 60, true));
  EXPECT_GE(store.reads, 1u);
  c.send(1, R"({"type":"history","room":"dev","before":3,"limit":2})");
  EXPECT_EQ(c.raw(1).back(), R"({"type":"history","room":"dev","events":[)" + sent[1] + "," +
                                 sent[2] + R"(],"more":false})");
  std::string epoch = c.epoch(1, "dev");
  c.send(2, R"({"type":"join","room":"dev","nick":"bob","since":4,"epoch":")" + epoch + R"("})");
  Lines got = c.take(2);
  EXPECT_EQ(got.front(), "welcome dev bob [alice,bob] last=60 resumed=true");
  EXPECT_EQ(got.size(), 1u + 56 + 1);
}

// With a durable store an empty room is freed, but not under the app's
// feet: the room an apply() or drop() returned from stays readable until
// the app sweeps, once the batch is delivered (it fans out from the room's
// members and names it in an error).
TEST(Source, FreedRoomOutlivesTheCallThatEmptiedIt) {
  FakeHistory store;
  Chat c({}, &store, true);
  c.join(1, "alice", "dev");
  c.leave(1, "dev");  // the driver reads dev's members after apply, as the app does
  EXPECT_EQ(c.take(1).back(), "dev #2 leave alice");
  EXPECT_EQ(c.engine.find_room("dev"), nullptr) << "freed by the sweep after delivery";
  Outcome o = c.on_text(2, R"({"type":"join","room":"ops","nick":"bob"})");
  ASSERT_TRUE(o.has_event);
  ++o.event.room->sequenced_id;
  c.engine.drop(o.event, &c.sessions[2]);
  EXPECT_EQ(o.event.room->name(), "ops") << "still there until the sweep";
  c.engine.sweep_rooms();
  EXPECT_EQ(c.engine.find_room("ops"), nullptr);
}

}  // namespace
}  // namespace chatd
