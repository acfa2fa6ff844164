// Room: apply() is the one place a room changes: members in join order,
// local and remote members, last id and the ring, oldest_available.
#include "chat/room.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "chat/json_writer.h"
#include "chat_test_util.h"

namespace chatd {
namespace {

using test::frame_payload;

std::vector<std::string> nicks(const Room& r) {
  std::vector<std::string> out;
  for (const Member& m : r.members()) out.push_back(std::string(m.nick()));
  return out;
}

using Nicks = std::vector<std::string>;

// Applies the room's next event; returns its payload.
std::string next(Room& r, EventKind kind, MemberId who, std::string_view nick,
                 std::string_view text = {}, const RingLimits& lim = {}) {
  NumberedEvent e{&r,   kind, r.last_id() + 1, 1764100000000 + int64_t(r.last_id()), who, nick,
                  text, {}};
  BlockRef b = r.apply(e, lim);
  EXPECT_TRUE(b);
  EXPECT_EQ(r.last_id(), e.id);
  EXPECT_TRUE(r.ring().holds(e.id));
  EXPECT_EQ(r.ring().at(e.id).get(), b.get()) << "the ring keeps the block that was sent";
  return frame_payload(b);
}

TEST(Room, FreshRoom) {
  Room r("dev", "k3x9q2");
  EXPECT_EQ(r.name(), "dev");
  EXPECT_EQ(r.epoch(), "k3x9q2");
  EXPECT_EQ(r.last_id(), 0u);
  EXPECT_EQ(r.sequenced_id, 0u);
  EXPECT_EQ(r.oldest_available(), 1u);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(r.ring().empty());
}

TEST(Room, ApplyJoinMsgLeave) {
  Room r("dev", "e");
  EXPECT_EQ(next(r, EventKind::join, 5, "carol"),
            R"({"type":"system","room":"dev","event":"join","nick":"carol","text":"carol joined",)"
            R"("id":1,"ts":1764100000000})");
  next(r, EventKind::join, 1, "alice");
  next(r, EventKind::join, 9, "bob");
  EXPECT_EQ(nicks(r), (Nicks{"carol", "alice", "bob"}));
  EXPECT_EQ(next(r, EventKind::msg, 1, "alice", "Olá!"),
            R"({"type":"msg","room":"dev","nick":"alice","msg":"Olá!","id":4,)"
            R"("ts":1764100000003})");
  EXPECT_EQ(nicks(r), (Nicks{"carol", "alice", "bob"})) << "a msg changes no member";
  EXPECT_EQ(next(r, EventKind::leave, 1, "alice"),
            R"({"type":"system","room":"dev","event":"leave","nick":"alice","text":"alice left",)"
            R"("id":5,"ts":1764100000004})");
  EXPECT_EQ(nicks(r), (Nicks{"carol", "bob"})) << "removal keeps the order";
  next(r, EventKind::join, 1, "alice");
  EXPECT_EQ(nicks(r), (Nicks{"carol", "bob", "alice"})) << "a rejoin goes last";
  next(r, EventKind::leave, 5, "carol");
  EXPECT_EQ(nicks(r), (Nicks{"bob", "alice"}));
  EXPECT_EQ(r.members()[0].id, 9u);
  EXPECT_EQ(r.members()[1].id, 1u);
  EXPECT_EQ(r.last_id(), 7u);
  EXPECT_EQ(r.ring().size(), 7u);
  EXPECT_EQ(r.oldest_available(), 1u);
}

// A leave for someone not in the room (a duplicate, a raced disconnect)
// changes no member but is still an event: ids stay consecutive.
TEST(Room, LeaveOfANonMemberStillCounts) {
  Room r("r", "e");
  next(r, EventKind::join, 1, "a");
  next(r, EventKind::leave, 2, "a");          // same nick, other connection
  next(r, EventKind::leave, kNoMember, "a");  // a remote "a": not the local one
  EXPECT_EQ(nicks(r), (Nicks{"a"}));
  EXPECT_EQ(r.local_members(), 1u);
  EXPECT_EQ(r.last_id(), 3u);
}

// Members on another node have no MemberId: they are kNoMember, matched by
// nick, and not counted as local (the app fans out to local ones only).
TEST(Room, LocalAndRemoteMembers) {
  Room r("r", "e");
  next(r, EventKind::join, 4, "ann");
  next(r, EventKind::join, kNoMember, "rob");
  next(r, EventKind::join, kNoMember, "rita");
  next(r, EventKind::join, 7, "lou");
  EXPECT_EQ(nicks(r), (Nicks{"ann", "rob", "rita", "lou"}));
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.local_members(), 2u);
  next(r, EventKind::leave, kNoMember, "rita");
  EXPECT_EQ(nicks(r), (Nicks{"ann", "rob", "lou"}));
  EXPECT_EQ(r.local_members(), 2u);
  next(r, EventKind::leave, kNoMember, "Rob");  // nicks as stored, exactly
  EXPECT_EQ(nicks(r), (Nicks{"ann", "rob", "lou"}));
  next(r, EventKind::leave, kNoMember, "ann");  // a local member is left by id only
  EXPECT_EQ(nicks(r), (Nicks{"ann", "rob", "lou"}));
  next(r, EventKind::leave, 4, "ann");
  EXPECT_EQ(nicks(r), (Nicks{"rob", "lou"}));
  EXPECT_EQ(r.local_members(), 1u);
  next(r, EventKind::leave, 7, "whatever");  // by id: the nick is not compared
  EXPECT_EQ(nicks(r), (Nicks{"rob"}));
  EXPECT_EQ(r.local_members(), 0u);
  EXPECT_EQ(r.size(), 1u);
}

TEST(Room, OldestAvailable) {
  // Only the ring: its first id, or last_id + 1 when it holds nothing.
  Room r("r", "e");
  RingLimits three{.max_events = 3};
  for (int i = 0; i < 3; ++i) next(r, EventKind::msg, 1, "a", "m", three);
  EXPECT_EQ(r.oldest_available(), 1u);
  next(r, EventKind::msg, 1, "a", "m", three);
  EXPECT_EQ(r.oldest_available(), 2u);
  for (int i = 0; i < 10; ++i) next(r, EventKind::msg, 1, "a", "m", three);
  EXPECT_EQ(r.oldest_available(), 12u);
  EXPECT_EQ(r.ring().first_id(), 12u);

  // A room loaded with history but nothing in its ring yet.
  Room loaded("r", "e", 41);
  EXPECT_EQ(loaded.last_id(), 41u);
  EXPECT_EQ(loaded.sequenced_id, 41u);
  EXPECT_EQ(loaded.oldest_available(), 42u);
  EXPECT_NE(next(loaded, EventKind::join, 1, "a").find(R"("id":42,)"), std::string::npos);
  EXPECT_EQ(loaded.oldest_available(), 42u);

  // With a store behind it: the store's oldest, whatever the ring holds.
  Room stored("r", "e", 500, 7);
  EXPECT_EQ(stored.oldest_available(), 7u);
  for (int i = 0; i < 10; ++i) next(stored, EventKind::msg, 1, "a", "m", three);
  EXPECT_EQ(stored.ring().first_id(), 508u);
  EXPECT_EQ(stored.oldest_available(), 7u);
}

TEST(Room, PreloadFillsTheRingAndMovesTheIds) {
  Room r("r", "e", 10);
  for (uint64_t id = 8; id <= 12; ++id) {
    r.preload(id, encode_msg("r", "a", "old", id, 5), {});
  }
  EXPECT_EQ(r.last_id(), 12u);
  EXPECT_EQ(r.sequenced_id, 12u);
  EXPECT_EQ(r.ring().first_id(), 8u);
  EXPECT_EQ(r.oldest_available(), 8u);
  EXPECT_EQ(r.size(), 0u) << "history brings no members";
  EXPECT_NE(next(r, EventKind::join, 1, "a").find(R"("id":13,)"), std::string::npos);
}

// The app numbers ahead while a batch waits for its commit: apply never
// moves sequenced_id back, and catches it up when it is behind.
TEST(Room, SequencedIdRunsAheadOfLastId) {
  Room r("r", "e");
  r.sequenced_id = 3;  // ids 1..3 handed out, none applied
  next(r, EventKind::join, 1, "a");
  EXPECT_EQ(r.sequenced_id, 3u);
  next(r, EventKind::msg, 1, "a", "x");
  next(r, EventKind::msg, 1, "a", "y");
  next(r, EventKind::msg, 1, "a", "z");  // numbered elsewhere (a broker)
  EXPECT_EQ(r.sequenced_id, 4u);
}

TEST(Room, MemoryBytesCountRingAndMembers) {
  Room r("r", "e");
  size_t empty = r.memory_bytes();
  EXPECT_GE(empty, sizeof(Room));
  next(r, EventKind::join, 1, std::string(30, 'n'));
  EXPECT_GE(r.memory_bytes(), empty + r.ring().memory_bytes() + sizeof(Member));
  EXPECT_GE(r.memory_bytes(), r.ring().memory_bytes() + sizeof(Room));
}

// The member list after random joins and leaves (local and remote) agrees
// with a model kept beside it.
TEST(Room, MembersStayRightThroughChurn) {
  Room r("r", "e");
  std::vector<Member> model;
  uint32_t seed = 7;
  auto rnd = [&] { return seed = seed * 1103515245 + 12345, (seed >> 16) % 40; };
  for (int step = 0; step < 3000; ++step) {
    uint32_t k = rnd();
    MemberId id = k < 30 ? k : kNoMember;
    std::string nick = "n" + std::to_string(k);
    auto it = std::find_if(model.begin(), model.end(), [&](const Member& m) {
      return id != kNoMember ? m.id == id : m.id == kNoMember && m.nick() == nick;
    });
    if (it != model.end()) {
      model.erase(it);
      next(r, EventKind::leave, id, nick, {}, {.max_events = 16});
    } else {
      model.push_back({id, make_nick(nick)});
      next(r, EventKind::join, id, nick, {}, {.max_events = 16});
    }
    ASSERT_EQ(r.size(), model.size()) << step;
    size_t local = 0;
    for (size_t i = 0; i < model.size(); ++i) {
      ASSERT_EQ(r.members()[i].id, model[i].id) << step;
      ASSERT_EQ(r.members()[i].nick(), model[i].nick()) << step;
      local += model[i].id != kNoMember;
    }
    ASSERT_EQ(r.local_members(), local);
  }
  EXPECT_EQ(r.ring().size(), 16u);
  EXPECT_EQ(r.oldest_available(), 3000u - 15);
}

}  // namespace
}  // namespace chatd
