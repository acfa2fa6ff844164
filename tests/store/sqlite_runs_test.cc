// The pieces of schema 3's index: a run row's blob (what is encoded decodes
// the same, a damaged one is refused) and TailIndex, the unfolded events in
// memory (per room, and the oldest first across rooms).
#include "store/sqlite_runs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/sqlite_tail.h"

namespace chatd {
namespace {

bool same(const std::vector<RunEntry>& a, const std::vector<RunEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].id != b[i].id || a[i].seq != b[i].seq || a[i].ts != b[i].ts) return false;
  return true;
}

TEST(SqliteRuns, WhatIsEncodedDecodesTheSame) {
  // Steps of every size: ids with a gap, seqs that go back (a version-1
  // file's order by time), a clock set back, values past 32 bits.
  std::vector<RunEntry> in = {{41, 1000, 1'700'000'000'000},
                              {42, 1001, 1'700'000'000'005},
                              {45, 900, 1'699'999'999'000},
                              {46, int64_t(1) << 40, INT64_MAX},
                              {47, (int64_t(1) << 40) + 1, 0}};
  std::string blob;
  encode_run(in, &blob);
  EXPECT_LT(blob.size(), in.size() * 24) << "varint steps, not three 8-byte numbers";
  std::vector<RunEntry> out = {{1, 1, 1}};
  ASSERT_TRUE(decode_run(41, blob.data(), blob.size(), &out));
  out.erase(out.begin());
  EXPECT_TRUE(same(in, out)) << "appended after what *out held";

  // 64 events of one busy room: a few bytes each.
  std::vector<RunEntry> busy;
  for (uint64_t i = 0; i < 64; ++i)
    busy.push_back({500 + i, 90'000 + int64_t(i) * 7, 1'700'000'000'000 + int64_t(i) * 3});
  blob.clear();
  encode_run(busy, &blob);
  EXPECT_LE(blob.size(), 64u * 3 + 16);
  out.clear();
  ASSERT_TRUE(decode_run(500, blob.data(), blob.size(), &out));
  EXPECT_TRUE(same(busy, out));
}

TEST(SqliteRuns, ADamagedBlobIsRefusedAndAddsNothing) {
  std::vector<RunEntry> in = {{7, 70, 700}, {8, 80, 800}};
  std::string blob;
  encode_run(in, &blob);
  std::vector<RunEntry> out = {{1, 1, 1}};
  std::string not_first = blob;
  not_first[0] = 2;  // the first entry's id is the row's first_id, a step of 1
  EXPECT_FALSE(decode_run(7, not_first.data(), not_first.size(), &out));
  EXPECT_FALSE(decode_run(7, blob.data(), blob.size() - 1, &out)) << "cut short";
  EXPECT_FALSE(decode_run(7, blob.data(), 0, &out)) << "empty";
  std::string zero_step = blob;
  zero_step[3] = 0;  // the second entry's id step: 0 (a repeated id)
  EXPECT_FALSE(decode_run(7, zero_step.data(), zero_step.size(), &out));
  std::string endless(12, char(0xff));
  EXPECT_FALSE(decode_run(7, endless.data(), endless.size(), &out)) << "a varint without end";
  EXPECT_EQ(out.size(), 1u);
}

TEST(SqliteTail, KeepsEachRoomAndTheOldestAcrossRooms) {
  TailIndex t;
  int64_t seq = 0;
  size_t room = 99;
  EXPECT_FALSE(t.oldest(&seq, &room));
  t.add(0, {1, 10, 0});
  t.add(2, {1, 11, 0});
  t.add(0, {2, 12, 0});
  t.add(1, {1, 13, 0});
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.room(0).size(), 2u);
  EXPECT_EQ(t.room(7).size(), 0u) << "a room never seen";
  ASSERT_TRUE(t.oldest(&seq, &room));
  EXPECT_EQ(seq, 10);
  EXPECT_EQ(room, 0u);
  t.clear_room(0);  // folded
  ASSERT_TRUE(t.oldest(&seq, &room));
  EXPECT_EQ(seq, 11);
  EXPECT_EQ(room, 2u);
  std::vector<int64_t> seen;
  EXPECT_TRUE(t.visit_oldest(10, [&](int64_t s, size_t) {
    seen.push_back(s);
    return true;
  }));
  EXPECT_EQ(seen, (std::vector<int64_t>{11, 13}));
  EXPECT_FALSE(t.visit_oldest(1, [&](int64_t, size_t) { return true; })) << "stopped at max";

  t.trim(11);  // what the writer reports folded
  EXPECT_EQ(t.room(2).size(), 0u);
  EXPECT_EQ(t.room(1).size(), 1u);
  EXPECT_EQ(t.size(), 1u);

  // A failed transaction's adds taken back.
  size_t mark = t.mark(), before = t.room_size(1);
  t.add(1, {2, 14, 0});
  t.add(3, {1, 15, 0});
  t.truncate_room(1, before);
  t.truncate_room(3, 0);
  t.truncate(mark);
  t.resize_rooms(3);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.rooms(), 3u);
  ASSERT_TRUE(t.oldest(&seq, &room));
  EXPECT_EQ(seq, 13);
}

TEST(SqliteTail, ALongTailIsConsumedFromTheFront) {
  TailIndex t;
  for (int64_t i = 1; i <= 10'000; ++i) t.add(size_t(i % 3), {uint64_t(i / 3 + 1), i, i});
  t.trim(9'000);
  EXPECT_EQ(t.size(), 1'000u);
  int64_t seq = 0;
  size_t room = 0;
  ASSERT_TRUE(t.oldest(&seq, &room));
  EXPECT_EQ(seq, 9'001);
  EXPECT_EQ(t.room(room).front().seq, 9'001);
  EXPECT_EQ(t.room(0).back().seq, 9'999);
}

}  // namespace
}  // namespace chatd
