// OutputQueue with slices (push_message): short writes and budgets that stop
// inside a slice, slices mixed with whole blocks, what the scratch copies,
// a slice split across the end of the ring, and drop_unstarted() keeping a
// fragmented message that was partly sent whole.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "net/flush_scratch.h"
#include "net/output_queue.h"
#include "queue_test_util.h"

namespace chatd {
namespace {

using test::expect_pattern;
using test::Pair;
using test::pattern;
using test::push_blocks;

constexpr int kRoomy = 1 << 20;

// One message as a list of pieces: glue pieces (kept in one shared block, as
// the history answer keeps its headers and commas) and event pieces (each in
// a block of its own, between junk bytes the slice skips, as a ring block's
// frame header is skipped). Every piece carries the stream pattern of its
// position, so the flushed stream exposes any loss or reordering.
struct Message {
  std::vector<BlockSlice> pieces;
  BlockRef glue;
  std::vector<BlockRef> events;
};

struct PieceSpec {
  bool glue;
  size_t len;
};

Message make_message(const std::vector<PieceSpec>& spec, size_t& pos) {
  Message m;
  size_t glue_len = 0;
  for (const PieceSpec& s : spec) glue_len += s.glue ? s.len : 0;
  m.glue = BlockRef::make(glue_len + 8, 4);
  // The glue is written in full before any slice shares it.
  size_t at = pos;
  for (const PieceSpec& s : spec) {
    if (s.glue) {
      for (size_t i = 0; i < s.len; ++i) m.glue.tail()[i] = pattern(at + i);
      m.glue.commit(s.len);
    }
    at += s.len;
  }
  size_t glue_at = 0;
  for (const PieceSpec& s : spec) {
    if (s.glue) {
      m.pieces.push_back({m.glue, uint32_t(glue_at), uint32_t(s.len)});
      glue_at += s.len;
    } else {
      BlockRef b = BlockRef::make(s.len + 20, 8);
      b.append("##", 2);  // what the slice skips, like a frame header
      for (size_t i = 0; i < s.len; ++i) b.tail()[i] = pattern(pos + i);
      b.commit(s.len);
      b.append("~~~", 3);  // nor does it reach the end of the block
      m.events.push_back(b);
      m.pieces.push_back({b, 2, uint32_t(s.len)});
    }
    pos += s.len;
  }
  return m;
}

// Every block the message references is held by the message alone.
void expect_released(const Message& m) {
  EXPECT_EQ(m.glue->refs,
            1u + size_t(std::count_if(m.pieces.begin(), m.pieces.end(), [&](const BlockSlice& s) {
              return s.block.get() == m.glue.get();
            })));
  for (const BlockRef& e : m.events) EXPECT_EQ(e->refs, 2u);  // m.events and m.pieces
}

void flush_all(OutputQueue& q, Pair& p, std::string& got, FlushScratch* scratch,
               size_t budget = SIZE_MAX) {
  for (int round = 0; !q.empty(); ++round) {
    ASSERT_LT(round, 1000000) << "no progress";
    FlushResult r = q.flush(p.writer.get(), budget, scratch);
    ASSERT_EQ(r.error, 0);
    p.drain(got);
  }
  p.drain(got);
}

TEST(OutputQueueSlices, ShortWritesInsideSlicesKeepTheStreamWhole) {
  for (size_t copy_max : {size_t{0}, size_t{512}}) {
    SCOPED_TRACE(copy_max);
    FlushScratch scratch(copy_max);
    Pair p(4096);
    OutputQueue q;
    size_t pos = 0;
    push_blocks(q, {3000}, pos);
    Message m = make_message({{true, 12},
                              {false, 5000},
                              {true, 3},
                              {false, 100},
                              {true, 3},
                              {false, 70000},
                              {true, 3},
                              {false, 90},
                              {true, 20}},
                             pos);
    q.push_message(m.pieces);
    push_blocks(q, {10, 9000}, pos);
    EXPECT_EQ(q.bytes(), pos);
    EXPECT_EQ(q.blocks(), 12u);
    std::string got;
    flush_all(q, p, got, &scratch);
    EXPECT_EQ(got.size(), pos);
    expect_pattern(got);
    expect_released(m);
    EXPECT_EQ(q.bytes(), 0u);
  }
}

TEST(OutputQueueSlices, EveryBudgetResumesAtTheExactOffset) {
  // A budget of b bytes per flush stops inside glue, inside an event slice
  // and on every boundary between them.
  for (size_t budget : {1u, 2u, 3u, 5u, 7u, 64u}) {
    SCOPED_TRACE(budget);
    FlushScratch scratch;
    Pair p(kRoomy);
    OutputQueue q;
    size_t pos = 0;
    Message m = make_message(
        {{true, 4}, {false, 33}, {true, 3}, {false, 1}, {true, 3}, {false, 600}, {true, 9}}, pos);
    q.push_message(m.pieces);
    push_blocks(q, {17}, pos);
    std::string got;
    for (int round = 0; !q.empty(); ++round) {
      ASSERT_LT(round, 100000);
      const size_t before = q.bytes();
      FlushResult r = q.flush(p.writer.get(), budget, &scratch);
      ASSERT_EQ(r.error, 0);
      EXPECT_EQ(r.written, std::min(budget, before));
      EXPECT_EQ(q.bytes(), before - r.written);
    }
    p.drain(got);
    EXPECT_EQ(got.size(), pos);
    expect_pattern(got);
    expect_released(m);
  }
}

TEST(OutputQueueSlices, SmallPiecesAreCopiedIntoOneRunAndLargeOnesReferenced) {
  struct Case {
    const char* name;
    std::vector<PieceSpec> spec;
    uint32_t iovecs;
    size_t copied;
  };
  const std::vector<Case> cases = {
      {"all small: one run", {{true, 4}, {false, 100}, {true, 3}, {false, 100}, {true, 9}}, 1, 216},
      {"a large event in the middle",
       {{true, 4}, {false, 100}, {true, 3}, {false, 5000}, {true, 9}},
       3,
       107},
      {"large events only, glue lone", {{false, 5000}, {true, 3}, {false, 6000}}, 3, 0},
      {"one piece", {{false, 10}}, 1, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FlushScratch scratch(512);
    Pair p(kRoomy);
    OutputQueue q;
    size_t pos = 0;
    Message m = make_message(c.spec, pos);
    q.push_message(m.pieces);
    FlushResult r = q.flush(p.writer.get(), SIZE_MAX, &scratch);
    EXPECT_EQ(r.written, pos);
    EXPECT_EQ(r.writes, 1u);
    EXPECT_EQ(r.iovecs, c.iovecs);
    EXPECT_EQ(r.copied, c.copied);
    std::string got;
    p.drain(got);
    expect_pattern(got);
    expect_released(m);
  }
}

TEST(OutputQueueSlices, ASliceSplitAcrossTheEndOfTheRingStaysWhole) {
  Pair p(kRoomy);
  OutputQueue q;
  size_t pos = 0;
  std::string got;
  // Eight slots; six whole blocks sent move the head to slot 6, so the
  // message's first slice takes slots 7 and 0.
  push_blocks(q, {1, 1, 1, 1, 1, 1, 1}, pos);
  EXPECT_EQ(q.memory_bytes(), 8u + 8 * sizeof(uintptr_t));
  ASSERT_EQ(q.flush(p.writer.get(), 6).written, 6u);
  Message m = make_message({{true, 2}, {false, 40}, {true, 1}}, pos);
  q.push_message(m.pieces);
  EXPECT_EQ(q.memory_bytes(), 8u + 8 * sizeof(uintptr_t)) << "fits without growing";
  Message n = make_message({{true, 3}, {false, 50}}, pos);
  q.push_message(n.pieces);  // grows, unrolling the split slice
  push_blocks(q, {7}, pos);
  EXPECT_EQ(q.blocks(), 7u);
  flush_all(q, p, got, nullptr, 3);
  EXPECT_EQ(got.size(), pos);
  expect_pattern(got);
  expect_released(m);
  expect_released(n);
}

TEST(OutputQueueSlices, EmptyPiecesAreSkippedAndWholeBlocksStayInline) {
  OutputQueue q;
  BlockRef b = BlockRef::make(16);
  b.append("abc", 3);
  q.push_message(std::vector<BlockSlice>{{b, 0, 0}, {b, 3, 0}});
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(b->refs, 1u);
  q.release_spare();
  q.push(b);
  EXPECT_EQ(q.memory_bytes(), 0u) << "one whole block uses the inline slot";
  q.push_message(std::vector<BlockSlice>{{b, 1, 2}});
  EXPECT_GT(q.memory_bytes(), 0u) << "a slice is never kept inline";
  EXPECT_EQ(q.bytes(), 5u);
  EXPECT_EQ(b->refs, 3u);
  q.clear();
  EXPECT_EQ(b->refs, 1u);
}

// Real frames, all with 2-byte headers: [text whole] then a fragmented
// message [text FIN=0 "[" ] [cont "a..."] [cont ",b..."] [cont FIN=1 "]"],
// then [text whole]. The glue (headers, brackets, commas) is one block, the
// events are sliced out of blocks of their own.
struct Stream {
  BlockRef before, after, glue, e1, e2;
  std::vector<BlockSlice> message;
  size_t message_bytes = 0;
};

BlockRef frame(uint8_t b0, const std::string& payload) {
  BlockRef b = BlockRef::make(payload.size() + 2);
  uint8_t h[2] = {b0, uint8_t(payload.size())};
  b.append(h, 2);
  b.append(payload);
  return b;
}

Stream make_stream() {
  Stream s;
  s.before = frame(0x81, std::string(60, 'x'));
  s.after = frame(0x81, std::string(30, 'y'));
  s.e1 = frame(0x81, std::string(40, 'a'));
  s.e2 = frame(0x81, std::string(50, 'b'));
  s.glue = BlockRef::make(64);
  const uint8_t head[] = {0x01, 1, '[', 0x00, 40};
  const uint8_t comma[] = {0x00, 51, ','};
  const uint8_t tail[] = {0x80, 1, ']'};
  s.glue.append(head, sizeof head);
  s.glue.append(comma, sizeof comma);
  s.glue.append(tail, sizeof tail);
  s.message = {{s.glue, 0, 5}, {s.e1, 2, 40}, {s.glue, 5, 3}, {s.e2, 2, 50}, {s.glue, 8, 3}};
  for (const BlockSlice& p : s.message) s.message_bytes += p.len;
  return s;
}

// Parses 2-byte-header frames; returns their first bytes, or fails the test
// when the stream is not whole frames or breaks RFC 6455's fragment rules
// (a continuation only inside a message, a new data frame only outside).
std::vector<uint8_t> frames_of(const std::string& got) {
  std::vector<uint8_t> out;
  bool in_message = false;
  size_t i = 0;
  while (i < got.size()) {
    EXPECT_LE(i + 2, got.size()) << "a cut header";
    const uint8_t b0 = uint8_t(got[i]), len = uint8_t(got[i + 1]);
    EXPECT_LE(i + 2 + len, got.size()) << "a cut payload";
    const uint8_t op = b0 & 0x0f;
    if (op == 0) {
      EXPECT_TRUE(in_message) << "a continuation outside a message";
    } else if (op < 8) {
      EXPECT_FALSE(in_message) << "a data frame inside a fragmented message";
    }
    if (op < 8) in_message = !(b0 & 0x80);
    out.push_back(b0);
    i += 2 + len;
  }
  EXPECT_FALSE(in_message) << "the stream ends inside a fragmented message";
  return out;
}

TEST(OutputQueueSlices, DropUnstartedKeepsAStartedFragmentedMessageWhole) {
  const BlockRef close = frame(0x88, std::string("\x03\xf0", 2));
  struct Case {
    const char* name;
    size_t sent;                  // bytes flushed before the drop
    std::vector<uint8_t> frames;  // first bytes of the frames the peer gets
  };
  const size_t before = 62;
  const std::vector<Case> cases = {
      {"nothing sent", 0, {0x88}},
      {"inside the frame before", 10, {0x81, 0x88}},
      {"exactly the frame before", before, {0x81, 0x88}},
      {"inside the first fragment's header", before + 1, {0x81, 0x01, 0x00, 0x00, 0x80, 0x88}},
      {"the first glue piece, exactly", before + 5, {0x81, 0x01, 0x00, 0x00, 0x80, 0x88}},
      {"inside the first event", before + 20, {0x81, 0x01, 0x00, 0x00, 0x80, 0x88}},
      {"all but the last piece", before + 5 + 40 + 3 + 50, {0x81, 0x01, 0x00, 0x00, 0x80, 0x88}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Stream s = make_stream();
    Pair p(kRoomy);
    OutputQueue q;
    q.push(s.before);
    q.push_message(s.message);
    q.push(s.after);
    FlushScratch scratch;
    if (c.sent) {
      ASSERT_EQ(q.flush(p.writer.get(), c.sent, &scratch).written, c.sent);
    }
    q.drop_unstarted();
    const bool message_kept = c.frames.size() > 2;
    const size_t frame_rest = c.sent < before ? (c.sent ? before - c.sent : 0) : 0;
    EXPECT_EQ(q.bytes(), message_kept ? before + s.message_bytes - c.sent : frame_rest);
    q.push(close);  // what close_websocket() queues next
    std::string got;
    flush_all(q, p, got, &scratch);
    EXPECT_EQ(frames_of(got), c.frames);
    EXPECT_EQ(s.e1->refs, 2u);
    EXPECT_EQ(s.after->refs, 1u);
  }
}

TEST(OutputQueueSlices, DropUnstartedStopsAtTheEndOfTheStartedMessage) {
  // Two messages back to back: the second, unstarted, goes.
  Stream s = make_stream(), t = make_stream();
  Pair p(kRoomy);
  OutputQueue q;
  q.push_message(s.message);
  q.push_message(t.message);
  ASSERT_EQ(q.flush(p.writer.get(), 7).written, 7u);
  q.drop_unstarted();
  EXPECT_EQ(q.bytes(), s.message_bytes - 7);
  std::string got;
  flush_all(q, p, got, nullptr);
  EXPECT_EQ(frames_of(got), (std::vector<uint8_t>{0x01, 0x00, 0x00, 0x80}));
  EXPECT_EQ(t.glue->refs, 4u) << "only t.message holds t's glue";
}

}  // namespace
}  // namespace chatd
