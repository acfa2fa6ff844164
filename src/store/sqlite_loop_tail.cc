#include "store/sqlite_loop_tail.h"

namespace chatd {

size_t LoopTail::room_index(std::string_view name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  size_t i = by_name_.size();
  by_name_.emplace(std::string(name), i);
  return i;
}

std::span<const RunEntry> LoopTail::room(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? std::span<const RunEntry>() : tail_.room(it->second);
}

void LoopTail::done(uint64_t batch, bool ok) {
  while (held_head_ < held_.size() && held_[held_head_].batch <= batch) {
    const Held& h = held_[held_head_++];
    if (ok && h.batch == batch) tail_.add(h.room, h.e);
  }
  if (held_head_ == held_.size()) {
    held_.clear();
    held_head_ = 0;
  }
}

}  // namespace chatd
