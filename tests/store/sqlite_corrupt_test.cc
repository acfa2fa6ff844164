// A corrupt file: refused at start with one line; a read that meets a
// corrupt page says so (read_ok) instead of passing for "no more history".
#include <gtest/gtest.h>

#include <limits>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::exists;
using store_test::msg;
using store_test::read_bytes;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Overwrites `pages` 4 KiB pages of the file from page `first` (0-based).
void clobber_pages(const std::string& path, size_t first, size_t pages) {
  std::string bytes = read_bytes(path);
  for (size_t i = first * 4096; i < (first + pages) * 4096 && i < bytes.size(); ++i)
    bytes[i] = char(0xA5 ^ (i * 31));
  store_test::write_bytes(path, bytes);
}

std::string filled_db(const store_test::TempDir& dir, size_t* pages) {
  std::string path = dir.file("chatd.db");
  std::string error;
  {
    auto s = SqliteStore::open(path, {}, &error);
    EXPECT_TRUE(s) << error;
    for (uint64_t i = 1; i <= 3000; ++i) s->append(msg("dev", i).record());
    EXPECT_TRUE(s->commit(&error)) << error;
  }
  EXPECT_FALSE(exists(path + "-wal")) << "a clean close checkpoints everything";
  *pages = read_bytes(path).size() / 4096;
  return path;
}

TEST(SqliteCorrupt, ACorruptFileFailsAtStartWithOneLine) {
  store_test::TempDir dir;
  size_t pages = 0;
  std::string path = filled_db(dir, &pages);
  ASSERT_GT(pages, 20u);
  clobber_pages(path, 1, pages - 1);  // everything but the header page
  std::string before = read_bytes(path);
  std::string error;
  EXPECT_FALSE(SqliteStore::open(path, {}, &error));
  EXPECT_NE(error.find("corrupt"), std::string::npos) << error;
  EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
  EXPECT_EQ(read_bytes(path), before);
}

TEST(SqliteCorrupt, AReadThatFailsSaysSo) {
  store_test::TempDir dir;
  size_t pages = 0;
  std::string path = filled_db(dir, &pages);
  // Rows and index entries are in the file in the order they were stored:
  // the middle pages hold the middle events. What open reads (the rooms,
  // each room's oldest row and newest id) is at the file's ends.
  clobber_pages(path, pages / 2 - 1, 3);
  std::string error;
  auto s = SqliteStore::open(path, {}, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_TRUE(s->read_ok());
  auto got = s->read("dev", 1000, 2000, 999);
  EXPECT_FALSE(s->read_ok());
  EXPECT_EQ(s->stats().store_errors, 1u);
  EXPECT_LT(got.size(), 999u);
  s->read("dev", 0, 10, 5);  // the oldest: intact
  EXPECT_TRUE(s->read_ok());
  EXPECT_EQ(store_test::ids(s->read("dev", 0, kMax, 5)), store_test::range(2996, 3000));
  EXPECT_TRUE(s->read_ok()) << "the newest: intact";
}

}  // namespace
}  // namespace chatd
