// LoopTail: what the loop's reads know of the events no run holds yet
// (schema 3), so that a read of a room's newest events needs no index: the
// rows (seq) of every committed event, minus those the writer reports folded
// (FoldMark). It may keep an event a while after its fold or its deletion by
// retention; a read takes from it only ids past what the runs and
// rooms.last_id cover, and a row gone is simply not found.
//
// With --fsync the loop learns of a commit from take_done(): a batch's
// entries are held until then, and kept only when it was stored.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/sqlite_tail.h"

namespace chatd {

class LoopTail {
 public:
  // The number of room `name`, given it the first time.
  size_t room_index(std::string_view name);
  // The room's entries oldest first (none for a room never seen).
  std::span<const RunEntry> room(std::string_view name) const;
  void add(size_t room, const RunEntry& e) { tail_.add(room, e); }
  // Forgets the entries with seq <= below (they are in runs).
  void trim(int64_t below) { tail_.trim(below); }
  size_t size() const { return tail_.size(); }

  // --fsync: an entry of batch `batch`, still with the writer thread.
  void hold(uint64_t batch, size_t room, const RunEntry& e) {
    held_.push_back(Held{batch, room, e});
  }
  // The held entries of the batches up to `batch`, done in order: kept when
  // ok, dropped when not.
  void done(uint64_t batch, bool ok);
  // Undo of hold() for a batch the writer refused at once.
  size_t held_mark() const { return held_.size(); }
  void drop_held(size_t mark) { held_.resize(mark); }

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Held {
    uint64_t batch;
    size_t room;
    RunEntry e;
  };
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> by_name_;
  TailIndex tail_;
  std::vector<Held> held_;
  size_t held_head_ = 0;
};

}  // namespace chatd
