// StoreHistory over a real SqliteStore: what a read returns, and a read the
// store fails (a corrupt page) reported as failed, counted as a store error,
// and answered `unavailable` to a history request by the engine above it.
#include "app/store_history.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../chat/chat_test_util.h"
#include "../store/store_test_util.h"
#include "chat/engine.h"
#include "store/sqlite_store.h"

namespace chatd {
namespace {

using store_test::msg;

// 3000 events of "dev" in a file closed cleanly (no WAL left), whose middle
// pages (the middle events, in the order stored) are then clobbered.
std::string damaged_db(const store_test::TempDir& dir) {
  std::string path = dir.file("chatd.db");
  std::string error;
  {
    auto s = SqliteStore::open(path, {}, &error);
    EXPECT_TRUE(s) << error;
    for (uint64_t i = 1; i <= 3000; ++i) s->append(msg("dev", i).record());
    EXPECT_TRUE(s->commit(&error)) << error;
  }
  std::string bytes = store_test::read_bytes(path);
  size_t pages = bytes.size() / 4096;
  for (size_t i = (pages / 2 - 1) * 4096; i < (pages / 2 + 2) * 4096; ++i)
    bytes[i] = char(0xA5 ^ (i * 31));
  store_test::write_bytes(path, bytes);
  return path;
}

TEST(StoreHistory, AFailedReadIsReportedAndCounted) {
  store_test::TempDir dir;
  std::string error;
  auto store = SqliteStore::open(damaged_db(dir), {}, &error);
  ASSERT_TRUE(store) << error;
  StoreHistory history(store.get());
  std::vector<PastEvent> got;
  EXPECT_TRUE(history.read("dev", 0, 11, 10, &got));
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0].id, 1u);
  EXPECT_EQ(got[0].text, "dev#1");
  got.clear();
  EXPECT_FALSE(history.read("dev", 1000, 2000, 999, &got));
  EXPECT_LT(got.size(), 999u);
  EXPECT_EQ(store->stats().store_errors, 1u);
}

// The engine with this store behind it: a history page that needs the
// damaged rows is refused with `unavailable`, one that does not is served.
TEST(StoreHistory, AHistoryRequestTheStoreCannotReadIsUnavailable) {
  store_test::TempDir dir;
  std::string error;
  auto store = SqliteStore::open(damaged_db(dir), {}, &error);
  ASSERT_TRUE(store) << error;
  StoreHistory history(store.get());
  ChatEngine engine({}, &history, true);
  std::vector<PastEvent> recent;
  ASSERT_TRUE(history.read("dev", 0, 3001, 20, &recent));
  engine.load_room("dev", "ep-dev", 3000, 1, recent);

  Session s;
  auto send = [&](const std::string& json) {
    return engine.on_text(s, 1, reinterpret_cast<const uint8_t*>(json.data()), json.size(), 0);
  };
  Outcome joined = send(R"({"type":"join","room":"dev","nick":"ann"})");
  ASSERT_TRUE(joined.has_event);
  // The join is applied as the app does once its commit succeeded.
  NumberedEvent e;
  e.room = joined.event.room;
  e.kind = joined.event.kind;
  e.member = joined.event.member;
  e.nick = joined.event.nick;
  e.id = 3001;
  e.ts = 1'700'000'000'000;
  engine.apply(e, 0);

  // A direct reply is one frame, or one message in pieces (a history page).
  auto reply_of = [](const Outcome& o) {
    if (!o.message.empty()) return test::message_payload(o.message);
    return o.reply ? test::frame_payload(o.reply) : std::string();
  };
  std::string bad = reply_of(send(R"({"type":"history","room":"dev","before":1600,"limit":50})"));
  EXPECT_NE(bad.find(R"("code":"unavailable")"), std::string::npos) << bad;
  std::string good = reply_of(send(R"({"type":"history","room":"dev","before":60,"limit":50})"));
  EXPECT_NE(good.find(R"("type":"history")"), std::string::npos) << good;
  EXPECT_NE(good.find(R"("msg":"dev#10")"), std::string::npos) << good;
  EXPECT_EQ(store->stats().store_errors, 1u);
}

}  // namespace
}  // namespace chatd
