// drop(): what the app does with the proposals of a turn whose commit
// failed. Each undoes what on_text did for it, and nothing is sent.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/engine.h"
#include "chat_driver.h"

namespace chatd {
namespace {

using test::Chat;
using test::Held;
using test::hold;
using test::Lines;

// A join still in flight (numbered, not yet committed) when the connection
// ends gets its leave too, applied after it.
TEST(InFlight, DisconnectWithAJoinInFlight) {
  Chat c;
  c.join(2, "bob", "dev");
  c.take(2);
  Held join = hold(c.on_text(1, R"({"type":"join","room":"dev","nick":"alice"})").event);
  std::vector<Proposal> out;
  c.engine.on_disconnect(c.sessions[1], 1, out);
  ASSERT_EQ(out.size(), 1u);
  Held leave = hold(out[0]);
  c.sessions[1] = Session{};
  c.apply(join, kNoMember);
  c.apply(leave, kNoMember);
  EXPECT_EQ(c.take(2), (Lines{"dev #2 join alice", "dev #3 leave alice"}));
  EXPECT_EQ(c.room("dev").size(), 1u);
}

// Numbers a held proposal as the app does, then gives it up as the app does
// when the turn's commit fails.
void fail(Chat& c, const Held& h, MemberId id) {
  ++h.p.room->sequenced_id;
  c.engine.drop(h.view(), &c.sessions[id]);
}

TEST(InFlight, UndoesAFirstJoin) {
  Chat c;
  Held j = hold(c.on_text(1, R"({"type":"join","room":"dev","nick":"alice"})").event);
  EXPECT_EQ(c.join(2, "alice"), "error nick_taken") << "held while the join is in flight";
  c.take(2);
  fail(c, j, 1);
  EXPECT_FALSE(c.sessions[1].joined());
  EXPECT_EQ(c.engine.participants(), 0u);
  EXPECT_EQ(c.engine.occupied_rooms(), 0u);
  EXPECT_EQ(c.say(1, "x", "dev"), "error not_joined room=dev");
  c.join(2, "alice", "dev");
  EXPECT_EQ(c.take(2),
            (Lines{"welcome dev alice [alice] last=0 resumed=false", "dev #1 join alice"}))
      << "the nick is free and the id was not used";
}

TEST(InFlight, UndoesALeaveAndAMsg) {
  Chat c;
  c.join(1, "alice", "dev");
  c.join(2, "bob", "dev");
  c.take(1), c.take(2);
  Held m = hold(c.on_text(1, R"({"type":"msg","msg":"lost"})").event);
  fail(c, m, 1);
  Held l = hold(c.on_text(1, R"({"type":"leave","room":"dev"})").event);
  fail(c, l, 1);
  EXPECT_EQ(c.say(1, "still here"), "") << "the leave did not happen";
  EXPECT_EQ(c.take(2), (Lines{"dev #3 alice: still here"})) << "and no id was skipped";
  EXPECT_EQ(c.room("dev").size(), 2u);
  EXPECT_EQ(c.engine.occupied_rooms(), 1u);
}

// PROTOCOL.md: the nick is held from the first successful join until the
// connection ends, so a later join that fails does not free it.
TEST(InFlight, OfALaterJoinKeepsTheNick) {
  Chat c;
  c.join(1, "alice", "general");
  c.leave(1, "general");
  c.take(1);
  Held j = hold(c.on_text(1, R"({"type":"join","room":"dev"})").event);
  fail(c, j, 1);
  EXPECT_TRUE(c.sessions[1].joined());
  EXPECT_EQ(c.join(2, "alice"), "error nick_taken");
  c.take(1);
  c.join(1, {}, "dev");
  EXPECT_EQ(c.take(1),
            (Lines{"welcome dev alice [alice] last=0 resumed=false", "dev #1 join alice"}));
}

// A join and a leave of the same room in one failed turn: neither happened,
// so the connection is not in that room (and its other rooms stay).
TEST(InFlight, OfAJoinAndItsLeave) {
  Chat c;
  c.join(1, "alice", "general");
  c.take(1);
  Held j = hold(c.on_text(1, R"({"type":"join","room":"dev"})").event);
  Held l = hold(c.on_text(1, R"({"type":"leave","room":"dev"})").event);
  fail(c, j, 1);
  fail(c, l, 1);
  EXPECT_EQ(c.say(1, "x", "dev"), "error not_joined room=dev");
  EXPECT_EQ(c.say(1, "y"), "") << "in general only";
  EXPECT_EQ(c.take(1), (Lines{"error not_joined room=dev", "general #2 alice: y"}));
  std::vector<Proposal> out;
  c.engine.on_disconnect(c.sessions[1], 1, out);
  ASSERT_EQ(out.size(), 1u) << "no leave owed for a room never joined";
  EXPECT_EQ(out[0].room->name(), "general");
}

}  // namespace
}  // namespace chatd
