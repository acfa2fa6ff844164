// The history answer as a fragmented message: reassembled, byte for byte
// what encode_history() writes as one frame (every frame header length,
// escapes in room and ref, more, no events); its events are the stored
// blocks themselves (same addresses), its glue one block; and through the
// engine, the answer's events point into the room's ring, also for events
// read back from the store.
#include "chat/history_answer.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "chat/event.h"
#include "chat/json_writer.h"
#include "chat_driver.h"
#include "chat_test_util.h"
#include "ws/encoder.h"

namespace chatd {
namespace {

using test::Chat;
using test::FakeHistory;
using test::frame_payload;
using test::message_payload;

std::vector<BlockRef> events_of_sizes(const std::vector<size_t>& text_sizes) {
  std::vector<BlockRef> out;
  uint64_t id = 1;
  for (size_t n : text_sizes) {
    out.push_back(encode_msg("dev", "alice", std::string(n, 'x'), id, 1764100000000 + int64_t(id)));
    ++id;
  }
  return out;
}

// The slices' structure: the glue in one block and every event slice exactly
// the payload of its stored frame, in place.
void expect_referenced(const std::vector<BlockSlice>& pieces, const std::vector<BlockRef>& events) {
  ASSERT_EQ(pieces.size(), events.empty() ? 1 : 2 * events.size() + 1);
  const Block* glue = pieces[0].block.get();
  for (size_t i = 0; i < pieces.size(); i += 2) EXPECT_EQ(pieces[i].block.get(), glue) << i;
  for (size_t i = 0; i < events.size(); ++i) {
    const BlockSlice& s = pieces[2 * i + 1];
    const std::string_view stored = server_frame_payload(*events[i].get());
    EXPECT_EQ(s.block.get(), events[i].get()) << "event " << i;
    EXPECT_EQ(s.view().data(), stored.data()) << "event " << i << " is referenced, not copied";
    EXPECT_EQ(s.view().size(), stored.size());
  }
}

TEST(HistoryAnswer, ReassemblesToTheOneFrameEncodingByteForByte) {
  struct Case {
    const char* name;
    std::string room;
    std::vector<size_t> sizes;  // text bytes of each event
    bool more;
    std::string ref;
  };
  const std::vector<Case> cases = {
      {"no events", "dev", {}, false, ""},
      {"no events, more and ref", "dev", {}, true, "r1"},
      {"one event", "dev", {5}, false, ""},
      {"three events, ref", "dev", {1, 2, 3}, true, "page-2"},
      {"100 events", "general", std::vector<size_t>(100, 40), true, ""},
      {"payloads at the 7-bit limit", "dev", {60, 61, 62, 63, 64, 65}, false, ""},
      {"16-bit lengths", "dev", {200, 5000, 65000}, false, "r"},
      {"a 64-bit length", "dev", {70000, 3}, true, ""},
      {"escapes in room and ref", "d\"e\\v", {4}, false, "a\"b\\c\x01"},
      {"a head over 125 bytes", std::string(120, 'r'), {4}, false, std::string(64, 'f')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<BlockRef> events = events_of_sizes(c.sizes);
    std::vector<BlockSlice> pieces;
    history_answer(c.room, events, c.more, c.ref, pieces);
    EXPECT_EQ(message_payload(pieces),
              frame_payload(encode_history(c.room, events, c.more, c.ref)));
    expect_referenced(pieces, events);
  }
}

TEST(HistoryAnswer, GlueIsSizedExactlyAndSharedByItsPieces) {
  const std::vector<BlockRef> events = events_of_sizes({10, 20, 30});
  std::vector<BlockSlice> pieces;
  history_answer("dev", events, true, "", pieces);
  const Block* glue = pieces[0].block.get();
  EXPECT_EQ(glue->refs, 4u) << "the four glue pieces and nothing else";
  EXPECT_EQ(glue->size(), glue->capacity);
  size_t glue_bytes = 0;
  for (size_t i = 0; i < pieces.size(); i += 2) glue_bytes += pieces[i].len;
  EXPECT_EQ(glue_bytes, glue->size()) << "every glue byte is sent once";
  EXPECT_EQ(events[0]->refs, 2u);
  pieces.clear();
  EXPECT_EQ(events[0]->refs, 1u);
}

// Pointers into the ring: the engine's answer references the ring's blocks.
TEST(HistoryAnswer, EngineAnswerReferencesTheRingBlocks) {
  Chat c({.rate_per_sec = 0});
  c.join(1, "alice", "dev");
  for (int i = 0; i < 100; ++i) c.say(1, "hello " + std::to_string(i), "dev");
  Outcome out = c.on_text(1, R"({"type":"history","room":"dev","limit":100,"ref":"p"})");
  ASSERT_FALSE(out.reply);
  ASSERT_EQ(out.message.size(), 201u);
  const Room& room = c.room("dev");
  std::vector<BlockRef> ring;
  for (uint64_t id = 2; id <= 101; ++id) ring.push_back(room.ring().at(id));
  std::vector<BlockSlice> pieces(out.message.begin(), out.message.end());
  expect_referenced(pieces, ring);
  EXPECT_EQ(message_payload(out.message), frame_payload(encode_history("dev", ring, true, "p")));
  // The next message lets the engine's copy go.
  pieces.clear();
  c.send(1, R"({"type":"rooms"})");
  EXPECT_EQ(ring[0]->refs, 2u) << "the ring and this test";
}

// Events older than the ring come from the store, encoded once for the
// answer; the answer is assembled the same way.
TEST(HistoryAnswer, EventsReadFromTheStoreGoTheSamePath) {
  FakeHistory store;
  Chat c({.rate_per_sec = 0, .history_memory = 2000}, &store, true);
  c.join(1, "alice", "dev");
  for (int i = 0; i < 60; ++i) c.say(1, "m" + std::to_string(i), "dev");
  const Room& room = c.room("dev");
  ASSERT_GT(room.ring().first_id(), 1u) << "the ring must have dropped the oldest";
  Outcome out = c.on_text(1, R"({"type":"history","room":"dev","limit":200})");
  ASSERT_EQ(out.message.size(), 2 * 61 + 1);
  const std::string payload = message_payload(out.message);
  EXPECT_EQ(test::describe(payload).substr(0, 22), "history dev [1,2,3,4,5");
  std::set<const Block*> ring_blocks;
  for (uint64_t id = room.ring().first_id(); id <= 61; ++id)
    ring_blocks.insert(room.ring().at(id).get());
  size_t from_ring = 0;
  for (size_t i = 1; i < out.message.size(); i += 2)
    from_ring += ring_blocks.count(out.message[i].block.get());
  EXPECT_EQ(from_ring, 61 - room.ring().first_id() + 1);
}

}  // namespace
}  // namespace chatd
