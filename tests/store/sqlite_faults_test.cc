// Write errors while running, made real: a file size limit (RLIMIT_FSIZE,
// SIGXFSZ ignored) in a child process fails the writes as a full disk
// would. The batch that hit it is refused whole, nothing before it is lost,
// and once writes succeed again the same ids are stored, gap-free.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <limits>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::msg;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

off_t size_of(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

bool set_file_limit(rlim_t bytes) {
  rlimit rl;
  getrlimit(RLIMIT_FSIZE, &rl);
  rl.rlim_cur = bytes;
  return setrlimit(RLIMIT_FSIZE, &rl) == 0;
}

// Commits one batch and returns its outcome: at once, or (--fsync) from the
// completion fd.
bool commit_and_wait(EventStore& s, std::string* error) {
  if (!s.commit(error)) return false;
  if (s.completion_fd() < 0) return true;
  std::vector<BatchDone> done;
  while (done.empty()) {
    pollfd p{s.completion_fd(), POLLIN, 0};
    poll(&p, 1, -1);
    s.take_done(&done);
  }
  *error = done.back().error;
  return done.size() == 1 && done[0].seq == s.last_batch() && done[0].ok;
}

// The child's body: "" when every step held.
std::string fill_the_disk_then_recover(const std::string& path, bool fsync) {
  SqliteOptions o;
  o.fsync = fsync;
  std::string error;
  auto s = SqliteStore::open(path, o, &error);
  if (!s) return "open: " + error;
  uint64_t id = 0;
  std::string big(1024, 'x');
  auto batch = [&](uint64_t first, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      store_test::Ev e = msg("dev", first + i);
      e.text = big;
      s->append(e.record());
    }
  };
  batch(1, 10);
  if (!commit_and_wait(*s, &error)) return "first commit: " + error;
  id = 10;
  signal(SIGXFSZ, SIG_IGN);
  off_t biggest = std::max({size_of(path), size_of(path + "-wal"), size_of(path + "-shm")});
  if (!set_file_limit(rlim_t(biggest) + 64 * 1024)) return "setrlimit failed";
  std::string full_error;
  for (int round = 0; round < 400 && full_error.empty(); ++round) {
    batch(id + 1, 20);
    if (commit_and_wait(*s, &error)) {
      id += 20;
    } else {
      full_error = error;
    }
  }
  if (full_error.empty()) return "the limit never failed a commit";
  if (full_error.find("full") == std::string::npos && full_error.find("I/O") == std::string::npos)
    return "unexpected error: " + full_error;
  if (s->stats().store_errors == 0) return "the error was not counted";
  // Still full: a second try fails the same way and the store is unharmed.
  batch(id + 1, 20);
  if (commit_and_wait(*s, &error)) return "a commit passed while the file was at its limit";
  auto kept = s->read("dev", 0, kMax, 100000);
  if (store_test::ids(kept) != store_test::range(1, id))
    return "after the fault the store holds " + std::to_string(kept.size()) + " events, want " +
           std::to_string(id);
  // Room again: the same ids are taken, and nothing is missing or doubled.
  if (!set_file_limit(RLIM_INFINITY)) return "cannot lift the limit";
  batch(id + 1, 20);
  if (!commit_and_wait(*s, &error)) return "no recovery: " + error;
  id += 20;
  kept = s->read("dev", 0, kMax, 100000);
  if (store_test::ids(kept) != store_test::range(1, id)) return "ids not gap-free after recovery";
  s.reset();
  s = SqliteStore::open(path, o, &error);
  if (!s) return "reopen: " + error;
  if (store_test::ids(s->read("dev", 0, kMax, 100000)) != store_test::range(1, id))
    return "ids lost across a reopen";
  if (s->heads().at(0).last_id != id) return "last_id wrong after reopen";
  return "";
}

TEST(SqliteFaults, AFullDiskRefusesTheBatchAndServiceComesBack) {
  store_test::TempDir dir;
  EXPECT_EQ(
      store_test::in_child([&] { return fill_the_disk_then_recover(dir.file("a.db"), false); }),
      "");
}

TEST(SqliteFaults, AFullDiskWithFsyncReportsTheBatchFailedAndComesBack) {
  store_test::TempDir dir;
  EXPECT_EQ(
      store_test::in_child([&] { return fill_the_disk_then_recover(dir.file("a.db"), true); }), "");
}

// A child commits batches and reports each committed id on a pipe; it is
// killed with SIGKILL mid-stream. Every id it reported is then in the file,
// with its text, and ids go on from there.
void killed_mid_commit(bool fsync) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      SqliteOptions o;
      o.fsync = fsync;
      std::string error;
      auto s = SqliteStore::open(path, o, &error);
      if (!s) _exit(3);
      uint64_t id = s->heads().empty() ? 0 : s->heads()[0].last_id;
      for (;;) {
        for (int i = 0; i < 5; ++i) s->append(msg("dev", ++id).record());
        if (!commit_and_wait(*s, &error)) _exit(4);
        if (write(p[1], &id, sizeof id) != sizeof id) _exit(5);
      }
    }
    close(p[1]);
    uint64_t seen = 0, id = 0;
    while (seen < 200 + 100 * uint64_t(round) && read(p[0], &id, sizeof id) == sizeof id) seen = id;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(p[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself: " << status;
    std::string error;
    SqliteOptions o;
    o.fsync = fsync;
    auto s = SqliteStore::open(path, o, &error);
    ASSERT_TRUE(s) << error;
    uint64_t last = s->heads().at(0).last_id;
    EXPECT_GE(last, seen) << "a committed batch was lost";
    auto events = s->read("dev", 0, kMax, 1'000'000);
    ASSERT_EQ(store_test::ids(events), store_test::range(1, last));
    EXPECT_EQ(events[seen - 1].text, "dev#" + std::to_string(seen));
  }
}

TEST(SqliteFaults, SigkillLosesNoCommittedBatch) {
  killed_mid_commit(false);
}

TEST(SqliteFaults, SigkillLosesNoCommittedBatchWithFsync) {
  killed_mid_commit(true);
}

}  // namespace
}  // namespace chatd
