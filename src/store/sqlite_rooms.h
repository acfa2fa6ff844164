// The rooms of a database as the writer keeps them in memory: the integer id
// each event row carries, the ids kept, and the oldest kept event's time, so
// that retention decides without a query whether there is anything to prune.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chatd {

struct RoomRow {
  int64_t rowid = 0;  // rooms.id
  std::string name;
  std::string epoch;
  uint64_t last_id = 0;
  uint64_t first_id = 1;         // last_id + 1 when no event is kept
  int64_t first_ts = INT64_MAX;  // the oldest kept event's ts; INT64_MAX when none
};

// Reads every room with its head; false with *error on failure.
bool load_rooms(sqlite3* db, std::vector<RoomRow>* out, std::string* error);

}  // namespace chatd
