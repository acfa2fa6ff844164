#include "chat/event_ring.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace chatd {

void EventRing::push(uint64_t id, BlockRef block, const RingLimits& limits) {
  if (!block) return;
  if (count_ && id != last_id() + 1) clear();
  if (count_ == slots_.size()) {
    if (count_ >= std::max<size_t>(limits.max_events, 1)) {
      pop_oldest();
    } else {
      grow(limits.max_events);
    }
  }
  if (count_ == 0) first_id_ = id;
  bytes_ += block->size();
  slots_[(head_ + count_) & (slots_.size() - 1)] = std::move(block);
  ++count_;
  while (count_ > 1 && (count_ > limits.max_events || bytes_ > limits.max_bytes)) pop_oldest();
}

const BlockRef& EventRing::at(uint64_t id) const {
  assert(holds(id));
  return slots_[(head_ + size_t(id - first_id_)) & (slots_.size() - 1)];
}

void EventRing::grow(size_t max_events) {
  size_t cap = slots_.empty() ? 4 : slots_.size() * 2;
  cap = std::min(cap, std::bit_ceil(std::max<size_t>(max_events, 1)));
  std::vector<BlockRef> bigger(cap);
  for (size_t i = 0; i < count_; ++i) {
    bigger[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
  }
  slots_.swap(bigger);
  head_ = 0;
}

void EventRing::pop_oldest() {
  BlockRef& b = slots_[head_];
  bytes_ -= b->size();
  b = BlockRef();
  head_ = (head_ + 1) & (slots_.size() - 1);
  --count_;
  ++first_id_;
}

void EventRing::clear() {
  slots_.clear();
  slots_.shrink_to_fit();
  head_ = count_ = bytes_ = 0;
  first_id_ = 0;
}

size_t EventRing::memory_bytes() const {
  size_t blocks = 0;
  for (size_t i = 0; i < count_; ++i) {
    const BlockRef& b = slots_[(head_ + i) & (slots_.size() - 1)];
    blocks += sizeof(Block) + b->capacity;
  }
  return slots_.capacity() * sizeof(BlockRef) + blocks;
}

}  // namespace chatd
