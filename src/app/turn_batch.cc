#include "app/turn_batch.h"

#include "chat/room.h"

namespace chatd {

TurnBatch::Span TurnBatch::keep(std::string_view s) {
  Span span{uint32_t(arena_.size()), uint32_t(s.size())};
  arena_.append(s);
  return span;
}

void TurnBatch::add_event(const NumberedEvent& e, Target target) {
  Entry entry;
  entry.target = target;
  entry.is_event = true;
  entry.event = e;
  entry.nick = keep(e.nick);
  entry.text = keep(e.text);
  entry.epoch = keep(e.ask.epoch);
  entry.ref = keep(e.ask.ref);
  entries_.push_back(std::move(entry));
}

void TurnBatch::add_frame(BlockRef frame, Target target) {
  Entry entry;
  entry.target = target;
  entry.frame = std::move(frame);
  entries_.push_back(std::move(entry));
}

void TurnBatch::add_message(std::span<const BlockSlice> pieces, Target target) {
  Entry entry;
  entry.target = target;
  entry.message = {uint32_t(pieces_.size()), uint32_t(pieces.size())};
  pieces_.insert(pieces_.end(), pieces.begin(), pieces.end());
  entries_.push_back(std::move(entry));
}

TurnBatch::Item TurnBatch::item(size_t i) const {
  const Entry& e = entries_[i];
  Item out{e.target, e.frame, {pieces_.data() + e.message.at, e.message.len}, e.is_event, e.event};
  if (e.is_event) {
    out.event.nick = view(e.nick);
    out.event.text = view(e.text);
    out.event.ask.epoch = view(e.epoch);
    out.event.ask.ref = view(e.ref);
  }
  return out;
}

void TurnBatch::renumber() {
  for (Entry& e : entries_) {
    if (e.is_event) e.event.room->sequenced_id = e.event.room->last_id();
  }
  for (Entry& e : entries_) {
    if (e.is_event) e.event.id = ++e.event.room->sequenced_id;
  }
}

void TurnBatch::clear() {
  entries_.clear();
  arena_.clear();
  pieces_.clear();
}

}  // namespace chatd
