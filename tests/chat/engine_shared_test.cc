// Shared rooms (ChatLimits::shared_rooms, several nodes on one broker): a
// room is kept in memory only for this node's members; events numbered on
// other nodes come in through apply_external(); a broker snapshot replaces
// the room's remote members and ring with sync_room(); members of this node
// that the snapshot lost join again with rejoin(). The driver numbers this
// node's proposals at once, standing in for the broker.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "chat/engine.h"
#include "chat_driver.h"

namespace chatd {
namespace {

using test::Chat;
using test::describe;
using test::frame_payload;
using test::Held;
using test::hold;
using test::Lines;

constexpr ChatLimits kShared = {.rate_per_sec = 0, .shared_rooms = true};

std::vector<std::string> nicks(const Room& r) {
  std::vector<std::string> out;
  for (const Member& m : r.members())
    out.push_back(std::string(m.nick()) + (m.id == kNoMember ? "@remote" : ""));
  return out;
}

TEST(SharedRooms, RemoteJoinMsgAndLeaveByNick) {
  Chat c(kShared);
  c.join(1, "alice", "dev");
  c.take(1);
  Room& r = c.room("dev");
  Applied j = c.external(r, EventKind::join, "Bob");
  EXPECT_EQ(describe(frame_payload(j.event)), "dev #2 join Bob");
  EXPECT_FALSE(j.welcome) << "nobody here asked for that join";
  EXPECT_TRUE(j.replay.empty());
  EXPECT_EQ(nicks(r), (std::vector<std::string>{"alice", "Bob@remote"}));
  EXPECT_EQ(r.local_members(), 1u);
  EXPECT_EQ(r.size(), 2u);

  Applied m = c.external(r, EventKind::msg, "Bob", "hi all");
  EXPECT_EQ(describe(frame_payload(m.event)), "dev #3 Bob: hi all");

  // A leave of another node names its member by nick, never one of ours.
  Applied l = c.external(r, EventKind::leave, "alice");
  EXPECT_EQ(describe(frame_payload(l.event)), "dev #4 leave alice");
  EXPECT_EQ(nicks(r), (std::vector<std::string>{"alice", "Bob@remote"}));
  l = c.external(r, EventKind::leave, "Bob");
  EXPECT_EQ(describe(frame_payload(l.event)), "dev #5 leave Bob");
  EXPECT_EQ(nicks(r), (std::vector<std::string>{"alice"}));
  EXPECT_EQ(r.last_id(), 5u);
  EXPECT_EQ(r.ring().size(), 5u);

  // This node's member sees the others' events in its history, in order.
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev"})"), "history dev [1,2,3,4,5] more=false");
  // And the next local event follows them.
  c.say(1, "back", "dev");
  EXPECT_EQ(c.take(1), (Lines{"dev #2 join Bob", "dev #3 Bob: hi all", "dev #4 leave alice",
                              "dev #5 leave Bob", "history dev [1,2,3,4,5] more=false",
                              "dev #6 alice: back"}));
}

TEST(SharedRooms, ExternalEventsKeepTheRoomsProposalCount) {
  Chat c(kShared);
  c.join(1, "alice", "dev");
  Room& r = c.room("dev");
  EXPECT_EQ(r.in_flight, 0u);
  c.external(r, EventKind::join, "bob");
  c.external(r, EventKind::leave, "bob");
  EXPECT_EQ(r.in_flight, 0u) << "no proposal of this engine was waiting for them";
}

TEST(SharedRooms, ARoomWithOnlyRemoteMembersIsFreed) {
  Chat c(kShared);
  c.join(1, "alice", "dev");
  c.join(2, "carol", "ops");
  Room* dev = &c.room("dev");
  c.external(*dev, EventKind::join, "bob");
  // alice leaves: the app applies her leave and then sweeps.
  Outcome out = c.on_text(1, R"({"type":"leave","room":"dev"})");
  ASSERT_TRUE(out.has_event);
  test::Held h = test::hold(out.event);
  NumberedEvent e{dev, EventKind::leave, dev->last_id() + 1, test::kWall, 1, h.nick, {}, {}};
  c.engine.apply(e, 0);
  EXPECT_EQ(nicks(*dev), (std::vector<std::string>{"bob@remote"}));
  std::vector<std::string> freed;
  c.engine.sweep_rooms(&freed);
  EXPECT_EQ(freed, (std::vector<std::string>{"dev"})) << "the broker stops following it";
  EXPECT_EQ(c.engine.find_room("dev"), nullptr);
  ASSERT_NE(c.engine.find_room("ops"), nullptr) << "carol is still in ops";
  freed.clear();
  c.engine.sweep_rooms(&freed);
  EXPECT_TRUE(freed.empty()) << "reported once";
}

TEST(SharedRooms, ARoomIsKeptWhileALocalMemberOrProposalNeedsIt) {
  Chat c(kShared);
  // A join on its way (not yet numbered) keeps a room with remote members.
  Outcome out = c.on_text(1, R"({"type":"join","room":"dev","nick":"alice"})");
  ASSERT_TRUE(out.has_event);
  test::Held join = test::hold(out.event);
  Room& r = c.room("dev");
  c.external(r, EventKind::join, "bob");
  std::vector<std::string> freed;
  c.engine.sweep_rooms(&freed);
  EXPECT_TRUE(freed.empty());
  ASSERT_EQ(c.engine.find_room("dev"), &r);
  c.apply(join, 1);
  EXPECT_EQ(c.take(1),
            (Lines{"welcome dev alice [bob,alice] last=1 resumed=false", "dev #2 join alice"}));
  // A remote leave does not free a room a member of this node is in.
  c.external(r, EventKind::leave, "bob");
  c.engine.sweep_rooms(&freed);
  EXPECT_TRUE(freed.empty());
  EXPECT_EQ(c.engine.find_room("dev"), &r);
}

TEST(SharedRooms, AnEmptyRoomWithHistoryIsFreedToo) {
  // One node alone keeps an empty room's ring (its only history); a shared
  // room's history is the broker's, so the room goes with its last member.
  Chat c(kShared);
  c.join(1, "alice", "dev");
  c.say(1, "x", "dev");
  c.leave(1, "dev");  // the driver sweeps after each event
  EXPECT_EQ(c.engine.find_room("dev"), nullptr);
  Chat one({.rate_per_sec = 0});
  one.join(1, "alice", "dev");
  one.say(1, "x", "dev");
  one.leave(1, "dev");
  EXPECT_NE(one.engine.find_room("dev"), nullptr);
}

TEST(SharedRooms, RoomsRequestGoesToTheBroker) {
  Chat c(kShared);
  c.join(1, "alice", "dev");
  Outcome out = c.on_text(1, R"({"type":"rooms","ref":"q1"})");
  EXPECT_TRUE(out.list_rooms);
  EXPECT_EQ(out.ref, "q1");
  EXPECT_FALSE(out.reply);
  EXPECT_FALSE(out.has_event);
}

// dev: alice (1) and carol (2) of this node, bob of another, 3 events.
class SharedSync : public ::testing::Test {
 protected:
  void SetUp() override {
    c.join(1, "alice", "dev");
    c.join(2, "carol", "dev");
    c.join(2, {}, "ops");
    r = &c.room("dev");
    c.external(*r, EventKind::join, "bob");
    c.take(1);
    c.take(2);
    ASSERT_EQ(nicks(*r), (std::vector<std::string>{"alice", "carol", "bob@remote"}));
  }
  Chat c{kShared};
  Room* r = nullptr;
};

TEST_F(SharedSync, KeepsThisNodesMembersByIdAndReplacesRemoteOnes) {
  const Block* alice_nick = r->members()[0].nick_block.get();
  std::vector<ChatEngine::SyncedMember> members = {
      {kNoMember, "dave"}, {1, "alice"}, {kNoMember, "erin"}};
  std::vector<PastEvent> recent = {
      {EventKind::join, 49, test::kWall, "erin", ""},
      {EventKind::msg, 50, test::kWall + 1, "dave", "hello"},
  };
  std::vector<MemberId> dropped;
  c.engine.sync_room(r, "newepoch", 50, 49, members, {}, recent, &dropped);
  c.restarted("dev");
  EXPECT_EQ(dropped, (std::vector<MemberId>{2})) << "carol is no member any more";
  EXPECT_EQ(nicks(*r), (std::vector<std::string>{"dave@remote", "alice", "erin@remote"}));
  EXPECT_EQ(r->members()[1].id, 1u);
  EXPECT_EQ(r->members()[1].nick_block.get(), alice_nick) << "alice keeps her shared nick block";
  EXPECT_EQ(r->local_members(), 1u);
  EXPECT_EQ(r->epoch(), "newepoch");
  EXPECT_EQ(r->last_id(), 50u);
  EXPECT_EQ(r->sequenced_id, 50u);
  EXPECT_EQ(c.take(1), Lines{}) << "not an event: nobody is told by the engine";

  // The ring holds the snapshot's events, framed as the originals were.
  ASSERT_EQ(r->ring().size(), 2u);
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev"})"), "history dev [49,50] more=false");
  std::vector<std::string> raw = c.raw(1);
  ASSERT_FALSE(raw.empty());
  EXPECT_NE(raw.back().find(R"("msg":"hello")"), std::string::npos) << raw.back();
  // The next event follows the snapshot.
  Applied a = c.external(*r, EventKind::msg, "dave", "after");
  EXPECT_EQ(describe(frame_payload(a.event)), "dev #51 dave: after");
}

TEST_F(SharedSync, HistoryOlderThanTheRingIsFetchedFromTheBroker) {
  std::vector<ChatEngine::SyncedMember> members = {{1, "alice"}};
  std::vector<PastEvent> recent = {{EventKind::msg, 50, test::kWall, "bob", "x"}};
  c.engine.sync_room(r, "e2", 50, 10, members, {}, recent, nullptr);
  Outcome out = c.on_text(1, R"({"type":"history","room":"dev","limit":5,"ref":"h1"})");
  EXPECT_TRUE(out.fetch);
  EXPECT_EQ(out.fetch_room, r);
  EXPECT_EQ(out.fetch_from, 46u);
  EXPECT_EQ(out.fetch_before, 51u);
  EXPECT_EQ(out.ref, "h1");
  EXPECT_FALSE(out.reply);
  EXPECT_TRUE(out.message.empty());
  // Never older than the oldest id the broker keeps.
  out = c.on_text(1, R"({"type":"history","room":"dev","before":12,"limit":5})");
  EXPECT_TRUE(out.fetch);
  EXPECT_EQ(out.fetch_from, 10u);
  EXPECT_EQ(out.fetch_before, 12u);
  // What the ring has is answered here, with more to come from the broker.
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","limit":1})"),
            "history dev [50] more=true");
}

TEST_F(SharedSync, AnEmptySnapshotDropsEveryLocalMember) {
  std::vector<MemberId> dropped;
  c.engine.sync_room(r, "e2", 0, 1, {}, {}, {}, &dropped);
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<MemberId>{1, 2}));
  EXPECT_EQ(r->size(), 0u);
  EXPECT_EQ(r->local_members(), 0u);
  EXPECT_EQ(r->last_id(), 0u);
  EXPECT_TRUE(r->ring().empty());
  // Their sessions still list the room, so it stays for their rejoin.
  c.engine.sweep_rooms();
  EXPECT_EQ(c.engine.find_room("dev"), r);
}

TEST_F(SharedSync, RejoinGivesAFreshWelcome) {
  std::vector<ChatEngine::SyncedMember> members = {{kNoMember, "bob"}, {1, "alice"}};
  std::vector<MemberId> dropped;
  c.engine.sync_room(r, "e2", 7, 1, members, {}, {}, &dropped);
  c.restarted("dev");
  ASSERT_EQ(dropped, (std::vector<MemberId>{2}));
  std::optional<Proposal> rejoin = c.engine.rejoin(c.sessions[2], 2, r);
  ASSERT_TRUE(rejoin);
  Proposal p = *rejoin;
  EXPECT_EQ(p.kind, EventKind::join);
  EXPECT_EQ(p.member, 2u);
  EXPECT_EQ(p.nick, "carol");
  EXPECT_EQ(p.room, r);
  EXPECT_EQ(r->in_flight, 1u);
  c.apply(hold(p), 2);
  EXPECT_EQ(c.take(2), (Lines{"welcome dev carol [bob,alice,carol] last=7 resumed=false",
                              "dev #8 join carol"}));
  EXPECT_FALSE(c.last_resumed);
  EXPECT_EQ(c.take(1), (Lines{"dev #8 join carol"}));
  EXPECT_EQ(r->in_flight, 0u);
  EXPECT_EQ(r->local_members(), 2u);
  // carol's other room was untouched, and she speaks in dev again.
  c.say(2, "back", "dev");
  EXPECT_EQ(c.take(2), (Lines{"dev #9 carol: back"}));
}

// A join numbered by the broker but not back yet when the room is rebuilt:
// the snapshot lists its member and its event is older than the snapshot,
// so it never comes. The snapshot's word completes it.
TEST_F(SharedSync, AJoinInFlightThatTheSnapshotListsIsWelcomed) {
  Outcome dave =
      c.on_text(3, R"({"type":"join","room":"dev","nick":"dave","history":10,"ref":"j3"})");
  ASSERT_TRUE(dave.has_event);
  Held dave_join = hold(dave.event);
  Outcome erin = c.on_text(4, R"({"type":"join","room":"dev","nick":"erin"})");
  ASSERT_TRUE(erin.has_event);
  Held erin_join = hold(erin.event);
  ASSERT_EQ(r->in_flight, 2u);

  // dave's join ran before the snapshot; erin's did not yet. A member of
  // this node listed with no join in flight (id 5) is none of ours any more.
  std::vector<ChatEngine::SyncedMember> members = {
      {kNoMember, "bob"}, {1, "alice"}, {2, "carol"}, {3, "dave"}, {5, "gone"}};
  // alice (1) joining again while her leave is in flight is a member here
  // already: she is kept, not taken in.
  std::vector<MemberId> joining = {1, 3, 4};
  std::vector<PastEvent> recent = {
      {EventKind::msg, 49, test::kWall, "bob", "before"},
      {EventKind::join, 50, test::kWall, "dave", ""},
  };
  std::vector<MemberId> dropped, admitted;
  c.engine.sync_room(r, "e2", 50, 49, members, joining, recent, &dropped, &admitted);
  c.restarted("dev");
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(admitted, (std::vector<MemberId>{3}));
  EXPECT_EQ(nicks(*r), (std::vector<std::string>{"bob@remote", "alice", "carol", "dave"}));
  EXPECT_EQ(r->local_members(), 3u);

  Proposal p = dave_join.view();
  NumberedEvent e{p.room, p.kind, 0, 0, p.member, p.nick, {}, p.ask};
  Applied a = c.engine.welcome_admitted(e);
  EXPECT_EQ(describe(frame_payload(a.welcome)),
            "welcome dev dave [bob,alice,carol,dave] last=50 resumed=false ref=j3");
  std::vector<std::string> replay;
  for (const BlockRef& b : a.replay) replay.push_back(describe(frame_payload(b)));
  EXPECT_EQ(replay, (std::vector<std::string>{"dev #49 bob: before", "dev #50 join dave"}));
  EXPECT_FALSE(a.event) << "no event: the others heard of dave in the snapshot";
  EXPECT_EQ(r->in_flight, 1u);

  // erin's event comes after the snapshot, as any other.
  c.apply(erin_join, 4);
  EXPECT_EQ(c.take(4), (Lines{"welcome dev erin [bob,alice,carol,dave,erin] last=50 resumed=false",
                              "dev #51 join erin"}));
  EXPECT_EQ(r->in_flight, 0u);
  // dave speaks in the room like anyone.
  c.say(3, "hi", "dev");
  EXPECT_EQ(c.take(1), (Lines{"dev #51 join erin", "dev #52 dave: hi"}));
}

// carol's leave ran before the snapshot: she is dropped, and not joined
// to the room she left again.
TEST_F(SharedSync, AMemberWhoseLeaveRanBeforeTheSnapshotIsNotRejoined) {
  Outcome out = c.on_text(2, R"({"type":"leave","room":"dev"})");
  ASSERT_TRUE(out.has_event);
  std::vector<ChatEngine::SyncedMember> members = {{kNoMember, "bob"}, {1, "alice"}};
  std::vector<MemberId> dropped;
  c.engine.sync_room(r, "e2", 9, 1, members, {}, {}, &dropped);
  ASSERT_EQ(dropped, (std::vector<MemberId>{2}));
  EXPECT_FALSE(c.engine.rejoin(c.sessions[2], 2, r));
  EXPECT_EQ(r->in_flight, 1u) << "only the leave, settled by the app";
}

TEST_F(SharedSync, MembershipGaugeFollowsTheSnapshot) {
  const uint64_t before = c.engine.counters().memberships;
  std::vector<ChatEngine::SyncedMember> members = {
      {1, "alice"}, {kNoMember, "x"}, {kNoMember, "y"}, {kNoMember, "z"}};
  c.engine.sync_room(r, "e2", 3, 1, members, {}, {}, nullptr);
  EXPECT_EQ(c.engine.counters().memberships, before - 3 + 4);
}

}  // namespace
}  // namespace chatd
