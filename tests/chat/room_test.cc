// Room: join order, order-keeping removal, case-insensitive lookup, ids.
#include "chat/room.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd {
namespace {

std::vector<std::string> nicks(const Room& r) {
  std::vector<std::string> out;
  for (const Member& m : r.members()) out.push_back(m.nick);
  return out;
}

TEST(Room, JoinOrderAndRemovalKeepsOrder) {
  Room r;
  EXPECT_EQ(r.size(), 0u);
  r.join(5, "carol");
  r.join(1, "alice");
  r.join(9, "bob");
  r.join(2, "dave");
  EXPECT_EQ(nicks(r), (std::vector<std::string>{"carol", "alice", "bob", "dave"}));
  auto gone = r.leave(1);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->id, 1u);
  EXPECT_EQ(gone->nick, "alice");
  EXPECT_EQ(nicks(r), (std::vector<std::string>{"carol", "bob", "dave"}));
  EXPECT_FALSE(r.leave(1));
  EXPECT_FALSE(r.leave(77));
  r.leave(2);
  r.join(1, "alice");
  EXPECT_EQ(nicks(r), (std::vector<std::string>{"carol", "bob", "alice"}));
  r.leave(5);
  EXPECT_EQ(nicks(r), (std::vector<std::string>{"bob", "alice"}));
  EXPECT_EQ(r.size(), 2u);
}

TEST(Room, FindByNickIgnoresAsciiCase) {
  Room r;
  r.join(3, "Alice");
  r.join(4, "Zo\xC3\xAB");
  ASSERT_NE(r.find_nick("aLICE"), nullptr);
  EXPECT_EQ(r.find_nick("ALICE")->id, 3u);
  EXPECT_EQ(r.find_nick("alice "), nullptr);
  EXPECT_EQ(r.find_nick("alic"), nullptr);
  EXPECT_EQ(r.find_nick("zo\xC3\xAB")->id, 4u);
  EXPECT_EQ(r.find_nick("ZO\xC3\x8B"), nullptr);  // only ASCII folds
}

TEST(Room, FindById) {
  Room r;
  r.join(3, "a");
  r.join(4, "b");
  ASSERT_NE(r.find(4), nullptr);
  EXPECT_EQ(r.find(4)->nick, "b");
  EXPECT_EQ(r.find(5), nullptr);
}

TEST(Room, EventIdsStartAtOneAndCount) {
  Room r;
  EXPECT_EQ(r.next_id(), 1u);
  EXPECT_EQ(r.take_event_id(), 1u);
  EXPECT_EQ(r.take_event_id(), 2u);
  EXPECT_EQ(r.next_id(), 3u);
}

}  // namespace
}  // namespace chatd

namespace chatd {
namespace {

// find(id) after many joins and leaves agrees with a linear scan.
TEST(Room, FindStaysRightThroughChurn) {
  Room r;
  uint32_t seed = 7;
  auto next = [&] { return seed = seed * 1103515245 + 12345, (seed >> 16) % 40; };
  for (int step = 0; step < 5000; ++step) {
    MemberId id = next();
    if (r.find(id)) {
      ASSERT_TRUE(r.leave(id));
    } else {
      r.join(id, "n" + std::to_string(id));
    }
    for (MemberId q = 0; q < 45; ++q) {
      const Member* scan = nullptr;
      for (const Member& m : r.members()) {
        if (m.id == q) scan = &m;
      }
      ASSERT_EQ(r.find(q), scan) << step << " " << q;
    }
  }
}

}  // namespace
}  // namespace chatd
