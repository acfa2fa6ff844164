#include "app/store_history.h"

namespace chatd {

namespace {

StoredKind stored_kind(EventKind k) {
  switch (k) {
    case EventKind::join:
      return StoredKind::join;
    case EventKind::leave:
      return StoredKind::leave;
    case EventKind::msg:
      break;
  }
  return StoredKind::msg;
}

EventKind event_kind(StoredKind k) {
  switch (k) {
    case StoredKind::join:
      return EventKind::join;
    case StoredKind::leave:
      return EventKind::leave;
    case StoredKind::msg:
      break;
  }
  return EventKind::msg;
}

}  // namespace

EventRecord to_record(const NumberedEvent& e, std::string_view room, std::string_view epoch) {
  return {room, epoch, e.id, e.ts, stored_kind(e.kind), e.nick, e.text};
}

bool StoreHistory::head(std::string_view room, PastRoom* out) {
  RoomHead h;
  if (!store_->head(room, &h)) return false;
  *out = {std::move(h.epoch), h.last_id, h.first_id};
  return true;
}

bool StoreHistory::read(std::string_view room, uint64_t after, uint64_t before, size_t limit,
                        std::vector<PastEvent>* out) {
  for (StoredEvent& s : store_->read(room, after, before, limit)) {
    out->push_back({event_kind(s.kind), s.id, s.ts, std::move(s.nick), std::move(s.text)});
  }
  return store_->read_ok();
}

}  // namespace chatd
