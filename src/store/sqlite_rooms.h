// What the writer and the loop read back of a database at start (and the
// writer again after a failure left it unsure): each room with its head, and
// the events not yet folded into runs (schema 3: every event with seq above
// fold.below that no run holds), found by one bounded scan of the newest rows.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "store/sqlite_runs.h"

namespace chatd {

struct RoomRow {
  int64_t rowid = 0;  // rooms.id
  std::string name;
  std::string epoch;
  uint64_t last_id = 0;
  uint64_t first_id = 1;         // last_id + 1 when no event is kept
  int64_t first_ts = INT64_MAX;  // the oldest kept event's ts; INT64_MAX when none
};

// An event no run holds yet, and the room (an index into StoreState::rooms).
struct TailRow {
  size_t room;
  RunEntry e;
};

struct StoreState {
  std::vector<RoomRow> rooms;  // in order of rooms.id
  std::vector<TailRow> tail;   // in order of seq
  int64_t below = 0;           // fold.below: every event with seq <= it is in a run
  int64_t max_seq = 0;         // the newest row's seq, or below if larger
};

// Reads every room with its head and the unfolded events, in one read
// transaction; false with *error on failure.
bool load_state(sqlite3* db, StoreState* out, std::string* error);

}  // namespace chatd
