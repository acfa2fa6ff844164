// Stand-alone prototype of the event store's write pattern (BENCHMARKS.md,
// the event store): commits of `per_commit` events over `rooms` rooms picked
// at random, `total` events, WAL with synchronous=NORMAL, a 16 MiB cache;
// prints CPU time per event. Not built by the Makefile:
//   g++ -O2 -o /tmp/store_fold bench/proto/store_fold.cc -lsqlite3
//   flock /tmp/bench.lock /tmp/store_fold MODE [rooms per_commit fold_at total tail_span]
// MODE 0: rows only, no index; 2: schema 2's unique (room, id) index;
// 3: an index table with one (room, id, seq, ts) row per event, written when
// the room is folded; 4: schema 3, the folded events packed in one run row.
#include <sqlite3.h>
#include <time.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
static double cpu() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
static void ex(sqlite3* db, const char* s) {
  char* e = nullptr;
  if (sqlite3_exec(db, s, 0, 0, &e) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", s, e);
    exit(1);
  }
}
static sqlite3_stmt* prep(sqlite3* db, const char* s) {
  sqlite3_stmt* st;
  if (sqlite3_prepare_v2(db, s, -1, &st, 0)) {
    fprintf(stderr, "%s\n", sqlite3_errmsg(db));
    exit(1);
  }
  return st;
}
int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: store_fold MODE [rooms per_commit fold_at total tail_span]\n");
    return 2;
  }
  int mode = atoi(argv[1]);
  int rooms = argc > 2 ? atoi(argv[2]) : 500;
  int per_commit = argc > 3 ? atoi(argv[3]) : 110;
  int B = argc > 4 ? atoi(argv[4]) : 64;
  long total = argc > 5 ? atol(argv[5]) : 300000;
  long T = argc > 6 ? atol(argv[6]) : 16384;
  const char* path = "/tmp/store_fold.db";
  std::string cmd = std::string("rm -f ") + path + "*";
  system(cmd.c_str());
  sqlite3* db;
  sqlite3_open(path, &db);
  ex(db,
     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA "
     "wal_autocheckpoint=8192;");
  ex(db,
     "CREATE TABLE events(seq INTEGER PRIMARY KEY, room INTEGER NOT NULL, id INTEGER NOT NULL, ts "
     "INTEGER NOT NULL, kind INTEGER NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL);");
  if (mode == 2) ex(db, "CREATE UNIQUE INDEX events_by_room ON events(room, id);");
  if (mode == 4)
    ex(db,
       "CREATE TABLE runs(room INTEGER NOT NULL, first_id INTEGER NOT NULL, entries BLOB NOT NULL, "
       "PRIMARY KEY(room, first_id)) WITHOUT ROWID; CREATE TABLE fold(w INTEGER NOT NULL); INSERT "
       "INTO fold VALUES(0);");
  if (mode == 3)
    ex(db,
       "CREATE TABLE keys(room INTEGER NOT NULL, id INTEGER NOT NULL, seq INTEGER NOT NULL, ts "
       "INTEGER NOT NULL, PRIMARY KEY(room,id)) WITHOUT ROWID; CREATE TABLE fold(w INTEGER NOT "
       "NULL); INSERT INTO fold VALUES(0);");
  sqlite3_stmt* ins = prep(
      db, "INSERT INTO events(seq, room, id, ts, kind, nick, text) VALUES(?1,?2,?3,?4,2,?5,?6)");
  sqlite3_stmt* kins = mode == 3 ? prep(db, "INSERT INTO keys(room,id,seq,ts) VALUES(?1,?2,?3,?4)")
                       : mode == 4
                           ? prep(db, "INSERT INTO runs(room, first_id, entries) VALUES(?1,?2,?3)")
                           : nullptr;
  sqlite3_stmt* wup = mode >= 3 ? prep(db, "UPDATE fold SET w = ?1") : nullptr;
  std::mt19937 rng(1);
  std::vector<long> next_id(rooms, 1);
  struct U {
    long seq, id, ts;
  };
  std::vector<std::vector<U>> unf(rooms);
  std::vector<std::pair<int, long>> fifo;
  size_t fhead = 0;  // (room, seq) in seq order
  std::vector<long> folded_to(rooms, 0);
  long seq = 0, w = 0, folds = 0, fold_entries = 0;
  const char* text = "0123456789abcdef0123456789abcdef";
  double t0 = cpu();
  while (seq < total) {
    ex(db, "BEGIN IMMEDIATE");
    for (int i = 0; i < per_commit; ++i) {
      int r = rng() % rooms;
      ++seq;
      long id = next_id[r]++;
      sqlite3_bind_int64(ins, 1, seq);
      sqlite3_bind_int64(ins, 2, r + 1);
      sqlite3_bind_int64(ins, 3, id);
      sqlite3_bind_int64(ins, 4, 1700000000000 + seq);
      sqlite3_bind_text(ins, 5, "nick1234", 8, SQLITE_STATIC);
      sqlite3_bind_text(ins, 6, text, 32, SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE) {
        fprintf(stderr, "ins\n");
        return 1;
      }
      sqlite3_reset(ins);
      if (mode >= 3) {
        unf[r].push_back({seq, id, 1700000000000 + seq});
        fifo.push_back({r, seq});
      }
    }
    if (mode >= 3) {
      auto fold = [&](int r) {
        if (mode == 4 && !unf[r].empty()) {
          std::string blob;
          long pid = unf[r].front().id - 1, ps = 0, pt = 0;
          auto put = [&](unsigned long v) {
            while (v >= 0x80) {
              blob.push_back(char(v | 0x80));
              v >>= 7;
            }
            blob.push_back(char(v));
          };
          for (U& u : unf[r]) {
            put(u.id - pid);
            put(u.seq - ps);
            long d = u.ts - pt;
            put((unsigned long)((d << 1) ^ (d >> 63)));
            pid = u.id;
            ps = u.seq;
            pt = u.ts;
          }
          sqlite3_bind_int64(kins, 1, r + 1);
          sqlite3_bind_int64(kins, 2, unf[r].front().id);
          sqlite3_bind_blob(kins, 3, blob.data(), blob.size(), SQLITE_STATIC);
          if (sqlite3_step(kins) != SQLITE_DONE) {
            fprintf(stderr, "rins %s\n", sqlite3_errmsg(db));
            exit(1);
          }
          sqlite3_reset(kins);
        } else
          for (U& u : unf[r]) {
            sqlite3_bind_int64(kins, 1, r + 1);
            sqlite3_bind_int64(kins, 2, u.id);
            sqlite3_bind_int64(kins, 3, u.seq);
            sqlite3_bind_int64(kins, 4, u.ts);
            if (sqlite3_step(kins) != SQLITE_DONE) {
              fprintf(stderr, "kins\n");
              exit(1);
            }
            sqlite3_reset(kins);
          }
        fold_entries += unf[r].size();
        ++folds;
        if (!unf[r].empty()) folded_to[r] = unf[r].back().id;
        unf[r].clear();
      };
      int budget = 16;
      // rooms with a full tail
      for (int r = 0; r < rooms && budget > 0; ++r)
        if ((int)unf[r].size() >= B) {
          fold(r);
          --budget;
        }
      // the oldest
      while (budget > 0 && fhead < fifo.size()) {
        auto [r, s] = fifo[fhead];
        if (unf[r].empty() || unf[r].front().seq > s) {
          ++fhead;
          continue;
        }
        if (seq - s <= T) break;
        fold(r);
        --budget;
      }
      while (fhead < fifo.size()) {
        auto [r, s] = fifo[fhead];
        if (unf[r].empty() || unf[r].front().seq > s)
          ++fhead;
        else
          break;
      }
      long nw = fhead < fifo.size() ? fifo[fhead].second - 1 : seq;
      if (nw != w) {
        w = nw;
        sqlite3_bind_int64(wup, 1, w);
        sqlite3_step(wup);
        sqlite3_reset(wup);
      }
      if (fhead > 100000) {
        fifo.erase(fifo.begin(), fifo.begin() + fhead);
        fhead = 0;
      }
    }
    ex(db, "COMMIT");
  }
  double t1 = cpu();
  printf("mode %d rooms %d per_commit %d B %d: %.2f us/event cpu, folds %ld avg %.1f, tail %ld\n",
         mode, rooms, per_commit, B, (t1 - t0) / total * 1e6, folds,
         folds ? double(fold_entries) / folds : 0.0, seq - w);
}
