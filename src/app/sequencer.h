// LocalSequencer: numbers a room's events on one node, at once. This is the
// seam a broker replaces (several nodes: Redis numbers the event and it
// comes back later on a subscription); the engine is built for either, as a
// proposal only changes its room once apply() gets the numbered event.
#pragma once

#include "chat/event.h"
#include "chat/room.h"

namespace chatd {

struct LocalSequencer {
  // Gives p the next id of its room (ahead of the room's last applied id
  // while earlier ones wait for their commit) and the time now_ms.
  NumberedEvent number(const Proposal& p, int64_t now_ms) const {
    return {p.room, p.kind, ++p.room->sequenced_id, now_ms, p.member, p.nick, p.text, p.ask};
  }
};

}  // namespace chatd
