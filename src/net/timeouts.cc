#include "net/timeouts.h"

#include <algorithm>
#include <cassert>
#include <climits>

namespace chatd {

Timeouts::Timeouts(std::span<const int64_t> lane_durations_ms) : lanes_(lane_durations_ms.size()) {
  assert(lanes_ >= 1 && lanes_ <= kMaxLanes);
  for (size_t i = 0; i < lanes_; ++i) {
    assert(lane_durations_ms[i] >= 0);
    lists_[i].duration = lane_durations_ms[i];
  }
}

void Timeouts::resize(uint32_t max_slots) {
  assert(max_slots < kNil);
  for (uint32_t s = max_slots; s < nodes_.size(); ++s) assert(!armed(s));
  nodes_.resize(max_slots);
}

void Timeouts::unlink(uint32_t slot) {
  Node& n = nodes_[slot];
  List& l = lists_[n.lane];
  if (n.prev != kNil) {
    nodes_[n.prev].next = n.next;
  } else {
    l.head = n.next;
  }
  if (n.next != kNil) {
    nodes_[n.next].prev = n.prev;
  } else {
    l.tail = n.prev;
  }
  --l.size;
  n.prev = n.next = kNil;
  n.lane = kNoLane;
}

void Timeouts::arm(uint32_t slot, uint8_t lane, int64_t now_ms) {
  assert(slot < nodes_.size() && lane < lanes_);
  if (armed(slot)) unlink(slot);
  List& l = lists_[lane];
  Node& n = nodes_[slot];
  n.deadline = now_ms + l.duration;
  // A caller's clock that stepped back must not unsort the lane.
  if (l.tail != kNil) n.deadline = std::max(n.deadline, nodes_[l.tail].deadline);
  n.lane = lane;
  n.prev = l.tail;
  n.next = kNil;
  if (l.tail != kNil) {
    nodes_[l.tail].next = slot;
  } else {
    l.head = slot;
  }
  l.tail = slot;
  ++l.size;
}

void Timeouts::disarm(uint32_t slot) {
  assert(slot < nodes_.size());
  if (armed(slot)) unlink(slot);
}

int64_t Timeouts::next_deadline() const {
  int64_t best = -1;
  for (size_t i = 0; i < lanes_; ++i) {
    uint32_t h = lists_[i].head;
    if (h == kNil) continue;
    int64_t d = nodes_[h].deadline;
    if (best < 0 || d < best) best = d;
  }
  return best;
}

int Timeouts::timeout_ms(int64_t now_ms) const {
  int64_t d = next_deadline();
  if (d < 0) return -1;
  return static_cast<int>(std::clamp<int64_t>(d - now_ms, 0, INT_MAX));
}

bool Timeouts::pop_expired(int64_t now_ms, uint32_t& slot, uint8_t& lane) {
  uint32_t best = kNil;
  for (size_t i = 0; i < lanes_; ++i) {
    uint32_t h = lists_[i].head;
    if (h == kNil || nodes_[h].deadline > now_ms) continue;
    if (best == kNil || nodes_[h].deadline < nodes_[best].deadline) best = h;
  }
  if (best == kNil) return false;
  slot = best;
  lane = nodes_[best].lane;
  unlink(best);
  return true;
}

}  // namespace chatd
