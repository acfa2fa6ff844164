#include "store/sqlite_tail.h"

namespace chatd {

void TailIndex::add(size_t room, const RunEntry& e) {
  if (room >= rooms_.size()) rooms_.resize(room + 1);
  rooms_[room].entries.push_back(e);
  queue_.push_back(Queued{e.seq, uint32_t(room)});
  ++live_;
}

std::span<const RunEntry> TailIndex::room(size_t room) const {
  if (room >= rooms_.size()) return {};
  const Room& r = rooms_[room];
  return std::span<const RunEntry>(r.entries).subspan(r.head);
}

size_t TailIndex::room_size(size_t room) const {
  return room < rooms_.size() ? rooms_[room].entries.size() - rooms_[room].head : 0;
}

void TailIndex::clear_room(size_t room) {
  if (room >= rooms_.size()) return;
  Room& r = rooms_[room];
  live_ -= r.entries.size() - r.head;
  r.entries.clear();
  r.head = 0;
  pop_dead();
}

void TailIndex::trim(int64_t upto) {
  while (queue_head_ < queue_.size() && queue_[queue_head_].seq <= upto) {
    const Queued& q = queue_[queue_head_++];
    Room& r = rooms_[q.room];
    // Entries of a room are in seq order, so an entry of the queue that is
    // still there is its room's front.
    if (r.head < r.entries.size() && r.entries[r.head].seq == q.seq) {
      ++r.head;
      --live_;
      if (r.head == r.entries.size()) {
        r.entries.clear();
        r.head = 0;
      } else if (r.head >= 64 && r.head * 2 >= r.entries.size()) {
        r.entries.erase(r.entries.begin(), r.entries.begin() + long(r.head));
        r.head = 0;
      }
    }
  }
  pop_dead();
}

void TailIndex::pop_dead() {
  while (queue_head_ < queue_.size() && !live(queue_[queue_head_])) ++queue_head_;
  if (queue_head_ == queue_.size()) {
    queue_.clear();
    queue_head_ = 0;
  } else if (queue_head_ >= 4096 && queue_head_ * 2 >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + long(queue_head_));
    queue_head_ = 0;
  }
}

bool TailIndex::oldest(int64_t* seq, size_t* room) {
  pop_dead();
  if (queue_head_ == queue_.size()) return false;
  *seq = queue_[queue_head_].seq;
  *room = queue_[queue_head_].room;
  return true;
}

void TailIndex::truncate(size_t mark) {
  if (mark < queue_.size()) queue_.resize(mark);
  if (queue_head_ > queue_.size()) queue_head_ = queue_.size();
}

void TailIndex::truncate_room(size_t room, size_t size) {
  if (room >= rooms_.size()) return;
  Room& r = rooms_[room];
  size_t now = r.entries.size() - r.head;
  if (size >= now) return;
  live_ -= now - size;
  r.entries.resize(r.head + size);
}

void TailIndex::resize_rooms(size_t keep) {
  for (size_t i = keep; i < rooms_.size(); ++i) live_ -= rooms_[i].entries.size() - rooms_[i].head;
  if (keep < rooms_.size()) rooms_.resize(keep);
}

void TailIndex::clear() {
  rooms_.clear();
  queue_.clear();
  queue_head_ = 0;
  live_ = 0;
}

}  // namespace chatd
