// Timeouts: O(1) deadlines for connection slots, in lanes of equal duration.
//
// Each lane is a FIFO of slots. Every slot armed in a lane gets the deadline
// now + that lane's duration, so appending at the tail keeps the lane sorted
// by deadline (time only moves forward; a deadline is also clamped to be no
// earlier than the tail's). The earliest deadline of all is then one of the
// lane heads: no heap, no timer wheel, and nothing scans every connection.
//
//   lane 0 (e.g. HTTP head, 10 s):  head -> s7 <-> s2 <-> s9 <- tail
//   lane 1 (e.g. idle, 30 s):       head -> s4 <-> s1 <- tail
//   lane 2 (e.g. ping sent, 30 s):  (empty)
//
// The lists are intrusive, stored in a vector indexed by slot with 4-byte
// links; a slot is in at most one lane. The app decides what each lane means
// and what to do when a slot expires (send a ping and arm the next lane,
// close...). Owns nothing but its node vector.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace chatd {

class Timeouts {
 public:
  static constexpr size_t kMaxLanes = 4;
  static constexpr uint32_t kNil = UINT32_MAX;

  // One lane per duration (milliseconds, >= 0), at most kMaxLanes.
  explicit Timeouts(std::span<const int64_t> lane_durations_ms);
  Timeouts(std::initializer_list<int64_t> lane_durations_ms)
      : Timeouts(std::span<const int64_t>(lane_durations_ms.begin(), lane_durations_ms.size())) {}

  // Makes room for slots [0, max_slots); call before arming them. Growing
  // keeps every armed slot; shrinking is only allowed below every armed slot.
  void resize(uint32_t max_slots);

  // Removes `slot` from wherever it is and appends it to `lane` with the
  // deadline now_ms + the lane's duration.
  void arm(uint32_t slot, uint8_t lane, int64_t now_ms);
  // Removes `slot` from its lane; a no-op if it is not armed.
  void disarm(uint32_t slot);

  bool armed(uint32_t slot) const { return nodes_[slot].lane != kNoLane; }
  // The slot's lane, or -1 if it is not armed.
  int lane_of(uint32_t slot) const { return armed(slot) ? nodes_[slot].lane : -1; }
  // The slot's deadline; meaningful only while armed.
  int64_t deadline(uint32_t slot) const { return nodes_[slot].deadline; }

  // The earliest deadline across lanes, or -1 if nothing is armed.
  int64_t next_deadline() const;
  // Milliseconds from `now_ms` until next_deadline() (0 if already due), or
  // -1 if nothing is armed: the epoll_wait timeout, capped at INT32_MAX.
  int timeout_ms(int64_t now_ms) const;

  // If the earliest deadline is <= now, disarms that slot, stores it and its
  // lane, and returns true; otherwise returns false. Call until false.
  bool pop_expired(int64_t now_ms, uint32_t& slot, uint8_t& lane);

  size_t lane_count() const { return lanes_; }
  // Slots armed in `lane`.
  uint32_t lane_size(uint8_t lane) const { return lists_[lane].size; }

 private:
  static constexpr uint8_t kNoLane = UINT8_MAX;
  struct Node {
    int64_t deadline = 0;
    uint32_t prev = kNil;
    uint32_t next = kNil;
    uint8_t lane = kNoLane;
  };
  struct List {
    uint32_t head = kNil;
    uint32_t tail = kNil;
    uint32_t size = 0;
    int64_t duration = 0;
  };
  void unlink(uint32_t slot);

  std::vector<Node> nodes_;
  std::array<List, kMaxLanes> lists_{};
  size_t lanes_ = 0;
};

}  // namespace chatd
