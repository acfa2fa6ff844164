// TurnBatch: what one loop turn has numbered and stored but not yet sent,
// in the order it happened. Nothing in it reaches a socket before the
// store's commit for the turn succeeds (PROTOCOL.md: an event any client
// received is in the store); then the server applies its events to their
// rooms and delivers, in order, its events and the frames queued behind them.
//
// A frame joins the batch instead of a connection's queue while that
// connection has events in the batch: its replies and its close frame then
// follow its own events, as its requests did.
//
// Ownership: the batch owns copies of every event's strings (in one arena
// reused from turn to turn, so a steady state allocates nothing) and one
// reference per frame or message piece. Connections are named by fd and generation: a slot
// freed and reused meanwhile is recognised and skipped.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/block.h"
#include "chat/event.h"

namespace chatd {

class TurnBatch {
 public:
  struct Target {
    uint32_t fd = UINT32_MAX;  // UINT32_MAX: no connection (e.g. it is gone)
    uint32_t generation = 0;
  };

  // One entry as handed back: an event (frame null, message empty), or a
  // frame or a message of pieces for target.
  struct Item {
    Target target;
    BlockRef frame;
    std::span<const BlockSlice> message;  // valid until clear()
    bool is_event = false;
    NumberedEvent event;  // views into the batch's arena
  };

  // Copies e's strings; target is who caused it (its replies wait behind it).
  void add_event(const NumberedEvent& e, Target target);
  void add_frame(BlockRef frame, Target target);
  // Copies the pieces (one reference each) of a message sent as slices.
  void add_message(std::span<const BlockSlice> pieces, Target target);

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  // Item i, its views valid until clear().
  Item item(size_t i) const;
  // Empties the batch, keeping its capacity.
  void clear();
  // Numbers the batch's events again, in order, from their rooms' last
  // applied ids: after the store refused a batch numbered before this one.
  void renumber();

 private:
  struct Span {
    uint32_t at = 0, len = 0;
  };
  struct Entry {
    Target target;
    BlockRef frame;
    Span message;  // in pieces_
    bool is_event = false;
    NumberedEvent event;  // its views are null; the spans below locate them
    Span nick, text, epoch, ref;
  };
  Span keep(std::string_view s);
  std::string_view view(Span s) const { return {arena_.data() + s.at, s.len}; }

  std::vector<Entry> entries_;
  std::string arena_;
  std::vector<BlockSlice> pieces_;  // the messages' pieces, reused like the arena
};

}  // namespace chatd
