// Batch: one loop turn's events, their bytes copied into one arena so that a
// warm batch costs no allocation, and so it can be handed to the writer
// thread whole (the views of an EventRecord die with append()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/event_store.h"

namespace chatd {

class Batch {
 public:
  struct Span {
    uint32_t off = 0, len = 0;
  };
  struct Event {
    Span room, epoch, nick, text;
    uint64_t id = 0;
    int64_t seq = 0;  // its row (events.seq), given by the store in order of append
    int64_t ts = 0;
    StoredKind kind = StoredKind::msg;
  };

  // Copies e's fields in, as row seq.
  void add(const EventRecord& e, int64_t seq) {
    events_.push_back(
        Event{put(e.room), put(e.epoch), put(e.nick), put(e.text), e.id, seq, e.ts, e.kind});
  }
  // Empties the batch, keeping its capacity.
  void clear() {
    bytes_.clear();
    events_.clear();
  }
  bool empty() const { return events_.empty(); }
  size_t size() const { return events_.size(); }
  const std::vector<Event>& events() const { return events_; }
  std::string_view view(Span s) const { return std::string_view(bytes_).substr(s.off, s.len); }

  uint64_t seq = 0;       // the number commit() gave it (background commits)
  int64_t handed_us = 0;  // when commit() was called, CLOCK_MONOTONIC microseconds

 private:
  Span put(std::string_view v) {
    Span s{uint32_t(bytes_.size()), uint32_t(v.size())};
    bytes_.append(v);
    return s;
  }
  std::string bytes_;
  std::vector<Event> events_;
};

}  // namespace chatd
