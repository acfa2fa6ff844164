// PROTOCOL.md "Join, history and resume" through the engine: the welcome,
// every branch of the replay decision, history paging, and events older
// than the ring read from a HistorySource.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "chat/engine.h"
#include "chat_driver.h"

namespace chatd {
namespace {

using test::Chat;
using test::FakeHistory;
using test::Lines;

// "history <room> [from,...,to] more=<more>".
std::string history_line(std::string_view room, uint64_t from, uint64_t to, bool more) {
  std::string ids;
  for (uint64_t id = from; id <= to && from != 0; ++id) {
    ids += (ids.empty() ? "" : ",") + std::to_string(id);
  }
  return "history " + std::string(room) + " [" + ids + "] more=" + (more ? "true" : "false");
}

// dev: #1 alice joins, #2..#6 alice's m2..m6, #7 bob joins, #8 bob's b8,
// #9 bob's connection ends. alice (1) saw all nine: `past` is what she got.
struct Dev {
  explicit Dev(ChatLimits limits = {}) : c(limits) {
    c.join(1, "alice", "dev");
    for (int i = 2; i <= 6; ++i) c.say(1, "m" + std::to_string(i));
    c.join(2, "bob", "dev");
    c.say(2, "b8");
    c.disconnect(2);
    past = c.take(1);
    raw = c.raw(1);
    past.erase(past.begin());  // the welcome
    raw.erase(raw.begin());
    epoch = c.epoch(1, "dev");
  }
  // Lines of events from..to (1-based ids) as alice first got them.
  Lines events(uint64_t from, uint64_t to) const {
    Lines out;
    for (uint64_t id = from; id <= to && from != 0; ++id) out.push_back(past[id - 1]);
    return out;
  }
  Chat c;
  Lines past;
  std::vector<std::string> raw;
  std::string epoch;
};

TEST(Replay, SetupIsWhatItSays) {
  Dev d;
  EXPECT_EQ(d.past, (Lines{"dev #1 join alice", "dev #2 alice: m2", "dev #3 alice: m3",
                           "dev #4 alice: m4", "dev #5 alice: m5", "dev #6 alice: m6",
                           "dev #7 join bob", "dev #8 bob: b8", "dev #9 leave bob"}));
}

struct ResumeCase {
  const char* name;
  std::string fields;  // added to the join; EPOCH stands for the room's epoch
  bool resumed;
  uint64_t from, to;  // the replay (0, 0: none)
};

TEST(Replay, EveryBranchOfTheDecision) {
  const ResumeCase cases[] = {
      {"since N, epoch, N+1 held", R"("since":8,"epoch":"EPOCH")", true, 9, 9},
      {"since N further back", R"("since":3,"epoch":"EPOCH")", true, 4, 9},
      {"since 0: from the first", R"("since":0,"epoch":"EPOCH")", true, 1, 9},
      {"since the newest", R"("since":9,"epoch":"EPOCH")", true, 0, 0},
      {"since wins over history", R"("since":6,"epoch":"EPOCH","history":1)", true, 7, 9},
      {"since beyond the last id", R"("since":10,"epoch":"EPOCH","history":2)", false, 8, 9},
      {"since far beyond", R"("since":9999999999,"epoch":"EPOCH")", false, 0, 0},
      {"wrong epoch", R"("since":5,"epoch":"zzzzzzzz","history":3)", false, 7, 9},
      {"wrong epoch, no history", R"("since":5,"epoch":"zzzzzzzz")", false, 0, 0},
      {"empty epoch", R"("since":5,"epoch":"","history":1)", false, 9, 9},
      {"epoch missing", R"("since":5,"history":3)", false, 7, 9},
      {"epoch missing, no history", R"("since":5)", false, 0, 0},
      {"epoch without since", R"("epoch":"EPOCH","history":2)", false, 8, 9},
      {"history 0", R"("history":0)", false, 0, 0},
      {"history some", R"("history":4)", false, 6, 9},
      {"history more than held", R"("history":200)", false, 1, 9},
      {"neither (version 1)", R"("x":1)", false, 0, 0},
  };
  for (const ResumeCase& k : cases) {
    SCOPED_TRACE(k.name);
    Dev d;
    std::string fields = k.fields;
    if (size_t at = fields.find("EPOCH"); at != std::string::npos) fields.replace(at, 5, d.epoch);
    d.c.send(3, R"({"type":"join","room":"dev","nick":"bob",)" + fields + "}");
    Lines want{std::string("welcome dev bob [alice,bob] last=9 resumed=") +
               (k.resumed ? "true" : "false")};
    for (const std::string& e : d.events(k.from, k.to)) want.push_back(e);
    want.push_back("dev #10 join bob");
    EXPECT_EQ(d.c.take(3), want);
    EXPECT_EQ(d.c.take(1), (Lines{"dev #10 join bob"})) << "members get the join only";
    // The replay is the stored frames, byte for byte.
    std::vector<std::string> raw = d.c.raw(3);
    for (uint64_t id = k.from; id <= k.to && k.from != 0; ++id) {
      EXPECT_EQ(raw[1 + id - k.from], d.raw[id - 1]) << id;
    }
    EXPECT_EQ(d.c.engine.counters().replayed, k.from ? k.to - k.from + 1 : 0);
  }
}

TEST(Replay, WelcomeUsersInJoinOrderJoinerIncluded) {
  Dev d;
  d.c.join(4, "carol", "dev");
  d.c.join(5, "dave", "dev");
  d.c.take(4);
  d.c.leave(4, "dev");
  d.c.join(4, {}, "dev");
  EXPECT_EQ(d.c.take(4).at(1), "welcome dev carol [alice,dave,carol] last=12 resumed=false");
  d.c.join(6, "eve", "fresh");
  EXPECT_EQ(d.c.take(6).front(), "welcome fresh eve [eve] last=0 resumed=false");
}

// More missed than --max-replay: the newest max_replay, consecutive up to
// the join, and still resumed (the client sees where its ids jump).
TEST(Replay, AtMostMaxReplay) {
  for (uint64_t since : {0, 2, 5, 6, 7}) {
    SCOPED_TRACE(since);
    Dev d({.max_replay = 3});
    d.c.send(3, R"({"type":"join","room":"dev","nick":"bob","since":)" + std::to_string(since) +
                    R"(,"epoch":")" + d.epoch + R"("})");
    Lines want{"welcome dev bob [alice,bob] last=9 resumed=true"};
    for (const std::string& e : d.events(since + 1 > 7 ? since + 1 : 7, 9)) want.push_back(e);
    want.push_back("dev #10 join bob");
    EXPECT_EQ(d.c.take(3), want);
  }
}

// N+1 must still be held once the join is in: with the ring full by count,
// the join's own event pushes the oldest out.
TEST(Replay, EvictedNPlusOneIsNotAResume) {
  Chat c({.rate_per_sec = 0, .max_replay = 200, .history_memory = 1 << 20});
  c.join(1, "alice", "dev");
  for (int i = 2; i <= 250; ++i) c.say(1, "m");
  std::string epoch = c.epoch(1, "dev");
  ASSERT_EQ(c.room("dev").ring().first_id(), 51u);
  auto rejoin = [&](MemberId id, std::string_view nick, uint64_t since) {
    c.send(id, R"({"type":"join","room":"dev","nick":")" + std::string(nick) + R"(","since":)" +
                   std::to_string(since) + R"(,"epoch":")" + epoch + R"(","history":2})");
    return c.take(id);
  };
  Lines lost = rejoin(2, "bob", 50);  // 51 is pushed out by the join (#251)
  ASSERT_EQ(lost.size(), 4u);
  EXPECT_EQ(lost[0], "welcome dev bob [alice,bob] last=250 resumed=false");
  EXPECT_EQ(lost[1], "dev #249 alice: m");
  EXPECT_EQ(lost[3], "dev #251 join bob");
  Lines kept = rejoin(3, "carol", 52 + 1);  // ring now 53..252 with carol's join
  ASSERT_EQ(kept.size(), 1u + (251 - 53) + 1);
  EXPECT_EQ(kept[0], "welcome dev carol [alice,bob,carol] last=251 resumed=true");
  EXPECT_EQ(kept[1], "dev #54 alice: m");
  EXPECT_EQ(kept.back(), "dev #252 join carol");
}

// Bounded by bytes too: a small --history-memory keeps few events.
TEST(Replay, RingBoundedByBytes) {
  Chat c({.rate_per_sec = 0, .history_memory = 1000});
  c.join(1, "alice", "dev");
  for (int i = 2; i <= 40; ++i) c.say(1, std::string(60, 'x'));
  std::string epoch = c.epoch(1, "dev");
  uint64_t first = c.room("dev").ring().first_id();
  ASSERT_GT(first, 20u);
  EXPECT_LE(c.room("dev").ring().bytes(), 1000u);
  c.send(2, R"({"type":"join","room":"dev","nick":"bob","since":5,"epoch":")" + epoch +
                R"(","history":200})");
  Lines got = c.take(2);
  EXPECT_EQ(got[0], "welcome dev bob [alice,bob] last=40 resumed=false");
  uint64_t now_first = c.room("dev").ring().first_id();
  EXPECT_EQ(got.size(), 1 + (40 - now_first + 1) + 1) << "all the ring still holds";
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","limit":200})"),
            history_line("dev", now_first, 41, false));
}

TEST(History, PagingBackToTheFirstEvent) {
  Chat c({.rate_per_sec = 0});
  c.join(1, "alice", "dev");
  for (int i = 2; i <= 120; ++i) c.say(1, "m" + std::to_string(i));
  const std::vector<std::string> sent = c.raw(1);
  auto h = [&](std::string_view fields) {
    return c.send(1, R"({"type":"history","room":"dev")" + std::string(fields) + "}");
  };
  EXPECT_EQ(h(""), history_line("dev", 71, 120, true)) << "default: the newest 50";
  EXPECT_EQ(h(R"(,"before":71)"), history_line("dev", 21, 70, true));
  EXPECT_EQ(h(R"(,"before":21)"), history_line("dev", 1, 20, false));
  EXPECT_EQ(h(R"(,"limit":200)"), history_line("dev", 1, 120, false));
  EXPECT_EQ(h(R"(,"limit":120)"), history_line("dev", 1, 120, false));
  EXPECT_EQ(h(R"(,"limit":119)"), history_line("dev", 2, 120, true));
  EXPECT_EQ(h(R"(,"before":2,"limit":1)"), history_line("dev", 1, 1, false));
  EXPECT_EQ(h(R"(,"before":3,"limit":1)"), history_line("dev", 2, 2, true));
  EXPECT_EQ(h(R"(,"before":1)"), history_line("dev", 0, 0, false));
  EXPECT_EQ(h(R"(,"before":0)"), history_line("dev", 0, 0, false));
  EXPECT_EQ(h(R"(,"before":121,"limit":3)"), history_line("dev", 118, 120, true));
  EXPECT_EQ(h(R"(,"before":99999,"limit":3)"), history_line("dev", 118, 120, true))
      << "before beyond the last id: the newest";
  EXPECT_EQ(h(R"(,"limit":2,"ref":"p1")"), history_line("dev", 119, 120, true) + " ref=p1");

  // A client paging with the oldest id it got reaches 1 exactly once each.
  std::vector<uint64_t> seen;
  uint64_t before = 0;
  for (int page = 0; page < 100; ++page) {
    std::string fields = R"(,"limit":7)";
    if (before) fields += R"(,"before":)" + std::to_string(before);
    std::string line = h(fields);
    bool more = line.find("more=true") != std::string::npos;
    std::string ids = line.substr(line.find('[') + 1, line.find(']') - line.find('[') - 1);
    std::vector<uint64_t> got;
    for (size_t at = 0; at < ids.size();) {
      size_t comma = ids.find(',', at);
      got.push_back(std::stoull(ids.substr(at, comma - at)));
      at = comma == std::string::npos ? ids.size() : comma + 1;
    }
    ASSERT_FALSE(got.empty()) << line;
    seen.insert(seen.begin(), got.begin(), got.end());
    before = got.front();
    if (!more) break;
  }
  ASSERT_EQ(seen.size(), 120u);
  for (uint64_t id = 1; id <= 120; ++id) EXPECT_EQ(seen[id - 1], id);

  // The events are the frames first sent, byte for byte; asking used no id.
  c.take(1);
  c.send(1, R"({"type":"history","room":"dev","before":4,"limit":3})");
  std::string reply = c.raw(1).back();
  EXPECT_EQ(reply, R"({"type":"history","room":"dev","events":[)" + sent[1] + "," + sent[2] + "," +
                       sent[3] + R"(],"more":false})");
  c.say(1, "next");
  EXPECT_EQ(c.take(1).back(), "dev #121 alice: next");
}

TEST(History, MembersOnly) {
  Chat c;
  c.join(1, "alice", "dev");
  c.join(2, "bob", "general");
  EXPECT_EQ(c.send(2, R"({"type":"history","room":"dev","ref":"h"})"),
            "error not_joined room=dev ref=h");
  EXPECT_EQ(c.send(3, R"({"type":"history","room":"dev"})"), "error not_joined room=dev");
  c.leave(1, "dev");
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev"})"), "error not_joined room=dev");
}

// Only the ring (the memory store): history ends where the ring does.
TEST(History, RingOnlyEndsAtTheRing) {
  Chat c({.rate_per_sec = 0, .history_memory = 1500});
  c.join(1, "alice", "dev");
  for (int i = 2; i <= 60; ++i) c.say(1, std::string(50, 'x'));
  uint64_t first = c.room("dev").ring().first_id();
  ASSERT_GT(first, 1u);
  EXPECT_EQ(c.room("dev").oldest_available(), first);
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","limit":200})"),
            history_line("dev", first, 60, false));
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","limit":2,"before":)" +
                          std::to_string(first + 2) + "}"),
            history_line("dev", first, first + 1, false));
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","before":)" + std::to_string(first) + "}"),
            history_line("dev", 0, 0, false));
}

// The memory store's rooms keep their ring (their only history) while
// empty: a later join finds the same epoch and ids going on.
TEST(History, EmptyRoomKeepsItsHistoryInMemory) {
  Chat c;
  c.join(1, "alice", "dev");
  c.say(1, "before");
  std::string epoch = c.epoch(1, "dev");
  c.disconnect(1);
  ASSERT_NE(c.engine.find_room("dev"), nullptr);
  c.send(2, R"({"type":"join","room":"dev","nick":"bob","since":1,"epoch":")" + epoch + R"("})");
  EXPECT_EQ(c.take(2), (Lines{"welcome dev bob [bob] last=3 resumed=true", "dev #2 alice: before",
                              "dev #3 leave alice", "dev #4 join bob"}));
  EXPECT_EQ(c.epoch(2, "dev"), epoch);
}

}  // namespace
}  // namespace chatd
