// EventRing: a room's most recent events, kept as the framed blocks that
// were first sent to its members, so replay and history hand out the same
// bytes again: no encode and no copy per replayed event.
//
//   slots_ (a ring, capacity a power of two, grown by doubling)
//   [ head_ | ... | head_+count_-1 ]
//     id first_id_  ...  id first_id_+count_-1   (ids always consecutive)
//
// Bounded twice, by the caller's limits: at most max_events blocks and at
// most max_bytes of them; the oldest go first, so what remains is always one
// run of consecutive ids ending at the newest. Owns one reference per block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/block.h"

namespace chatd {

struct RingLimits {
  size_t max_events = 1000;
  size_t max_bytes = 256 * 1024;
};

class EventRing {
 public:
  // Appends the block of event `id`, then evicts the oldest while over a
  // limit (the newest always stays). An id that does not follow the newest
  // (the room's history was replaced) empties the ring first.
  void push(uint64_t id, BlockRef block, const RingLimits& limits);

  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  size_t bytes() const { return bytes_; }
  // The oldest and newest ids held; both 0 when empty.
  uint64_t first_id() const { return count_ ? first_id_ : 0; }
  uint64_t last_id() const { return count_ ? first_id_ + count_ - 1 : 0; }
  bool holds(uint64_t id) const { return count_ && id >= first_id_ && id <= last_id(); }
  // The block of event id; requires holds(id).
  const BlockRef& at(uint64_t id) const;

  void clear();
  // Heap bytes of the slot array and of the blocks held.
  size_t memory_bytes() const;

 private:
  void grow(size_t max_events);
  void pop_oldest();

  std::vector<BlockRef> slots_;
  size_t head_ = 0;
  size_t count_ = 0;
  size_t bytes_ = 0;
  uint64_t first_id_ = 0;
};

}  // namespace chatd
