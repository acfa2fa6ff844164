// The room table: the rooms listing, and rooms at rest (no members, history
// kept) making way when the table is full.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "chat/engine.h"
#include "chat_driver.h"

namespace chatd {
namespace {

using test::Chat;
using test::Lines;

// Rooms with members, most members first (ties by name), at most 100, with
// their last ids; rooms at rest are not listed.
TEST(Rooms, ListingMostMembersFirst) {
  Chat c({.rate_per_sec = 0, .max_rooms_per_conn = 200});
  EXPECT_EQ(c.send(9, R"({"type":"rooms","ref":"r"})"), "rooms  ref=r") << "no join needed";
  c.join(1, "alice", "zeta");
  c.join(2, "bob", "zeta");
  c.join(3, "carol", "zeta");
  c.join(1, {}, "beta");
  c.join(2, {}, "beta");
  c.join(1, {}, "alpha");
  c.say(1, "x", "alpha");
  c.join(4, "dave", "gone");
  c.leave(4, "gone");
  EXPECT_EQ(c.send(9, R"({"type":"rooms"})"), "rooms zeta:3:3,beta:2:2,alpha:1:2");
  for (int i = 0; i < 110; ++i) c.join(5, i ? "" : "eve", "r" + std::to_string(1000 + i));
  std::string line = c.send(9, R"({"type":"rooms"})");
  EXPECT_EQ(line.rfind("rooms zeta:3:3,beta:2:2,alpha:1:2,r1000:1:1,r1001:1:1,", 0), 0u) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), ','), 99) << "at most 100 rooms";
}

// With the memory store an empty room keeps its ring until the table (twice
// --max-rooms) is full; then the one unused longest goes, and its name
// starts over with a new epoch.
TEST(Rooms, RoomsAtRestMakeWayOldestFirst) {
  Chat c({.max_rooms = 1});
  auto visit = [&](std::string_view room, int64_t mono) {
    c.send(1, R"({"type":"join","room":")" + std::string(room) + R"(","nick":"alice"})", mono);
    c.send(1, R"({"type":"leave","room":")" + std::string(room) + R"("})", mono);
  };
  visit("a", 10);
  std::string epoch_a = c.epoch(1, "a");
  visit("b", 20);
  EXPECT_EQ(c.engine.room_count(), 2u);
  c.send(1, R"({"type":"join","room":"c"})", 30);
  EXPECT_EQ(c.engine.room_count(), 2u);
  EXPECT_EQ(c.engine.find_room("a"), nullptr) << "unused longest";
  ASSERT_NE(c.engine.find_room("b"), nullptr);
  EXPECT_EQ(c.send(1, R"({"type":"join","room":"a"})", 40), "error room_limit room=a")
      << "one room with members at most";
  c.send(1, R"({"type":"leave","room":"c"})", 40);
  c.take(1);
  c.send(1, R"({"type":"join","room":"a"})", 50);
  EXPECT_EQ(c.take(1), (Lines{"welcome a alice [alice] last=0 resumed=false", "a #1 join alice"}));
  EXPECT_NE(c.epoch(1, "a"), epoch_a) << "its history is gone: a new id sequence";
  EXPECT_EQ(c.engine.find_room("b"), nullptr);
  ASSERT_NE(c.engine.find_room("c"), nullptr);
  EXPECT_EQ(c.room("c").last_id(), 2u);
}

TEST(Rooms, MemoryAtRestIsCounted) {
  Chat c;
  size_t empty = c.engine.rooms_memory_bytes();
  c.join(1, "alice", "dev");
  for (int i = 0; i < 20; ++i) c.say(1, std::string(100, 'x'));
  size_t busy = c.engine.rooms_memory_bytes();
  EXPECT_GE(c.room("dev").ring().memory_bytes(), 20u * 100);
  EXPECT_GE(busy, empty + c.room("dev").ring().memory_bytes());
  c.disconnect(1);
  EXPECT_GE(c.engine.rooms_memory_bytes(), c.room("dev").ring().memory_bytes())
      << "the ring stays with the room at rest";
}

}  // namespace
}  // namespace chatd
