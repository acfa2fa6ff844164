// TailIndex: the events of each room not yet folded into a run, in memory,
// so that schema 3 needs no index entry per event (sqlite_runs.h). Kept per
// room (for folding a room and reading it) and in one queue in seq order
// (for the oldest unfolded event, which bounds what a restart must scan).
// Rooms are numbered by the owner (0, 1, 2, ...); an entry is added with a
// seq larger than every one before.
//
// Warm, it allocates nothing: each room's vector and the queue keep their
// capacity, consumed from the front and compacted now and then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "store/sqlite_runs.h"

namespace chatd {

class TailIndex {
 public:
  // Adds e at the end of room's entries (room is grown into as needed).
  void add(size_t room, const RunEntry& e);
  // The room's entries, oldest first.
  std::span<const RunEntry> room(size_t room) const;
  // Forgets all of room's entries (they were folded).
  void clear_room(size_t room);
  // Forgets every entry with seq <= upto.
  void trim(int64_t upto);
  // The oldest entry's seq and room; false when there is none.
  bool oldest(int64_t* seq, size_t* room);
  // Visits live entries in seq order from the oldest while fn(seq, room)
  // returns true, at most `max` of them. Returns true when every entry was
  // visited (and fn never said stop).
  template <class Fn>
  bool visit_oldest(size_t max, Fn fn) {
    for (size_t i = queue_head_; i < queue_.size(); ++i) {
      if (!live(queue_[i])) continue;
      if (max-- == 0 || !fn(queue_[i].seq, size_t(queue_[i].room))) return false;
    }
    return true;
  }
  size_t size() const { return live_; }
  size_t rooms() const { return rooms_.size(); }

  // Undo of adds within a failed transaction: the queue's and each touched
  // room's sizes before it (taken with mark() and room_size()).
  size_t mark() const { return queue_.size(); }
  size_t room_size(size_t room) const;
  void truncate(size_t mark);
  void truncate_room(size_t room, size_t size);
  // Forgets the rooms numbered `keep` and above.
  void resize_rooms(size_t keep);
  void clear();

 private:
  struct Queued {
    int64_t seq;
    uint32_t room;
  };
  struct Room {
    std::vector<RunEntry> entries;
    size_t head = 0;  // entries before it are gone
  };
  bool live(const Queued& q) const {
    if (q.room >= rooms_.size()) return false;
    const Room& r = rooms_[q.room];
    return r.head < r.entries.size() && r.entries[r.head].seq <= q.seq;
  }
  void pop_dead();

  std::vector<Room> rooms_;
  std::vector<Queued> queue_;
  size_t queue_head_ = 0;
  size_t live_ = 0;
};

}  // namespace chatd
