// Room: one room's members in join order, its id sequence (epoch and last
// id) and the ring of its recent events.
//
// A room changes only through apply(), which folds one numbered event into
// the member list and the ring and returns the one framed block to fan out.
// Everything else here only reads. Holds a reference to each member's nick
// block (shared by a connection's memberships) and the ring's references; knows nothing of
// connections or fds: a member is the app's MemberId.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chat/event.h"
#include "chat/event_ring.h"
#include "chat/member.h"

namespace chatd {

class Room {
 public:
  // A room whose history so far is last_id events of `epoch`, the oldest
  // still kept anywhere (ring or store) being oldest_stored (0: only what
  // the ring holds).
  Room(std::string_view name, std::string_view epoch, uint64_t last_id = 0,
       uint64_t oldest_stored = 0);

  // Folds e (e.room == this, e.id == last_id() + 1) into the room: a join
  // appends its member, a leave removes it, every event enters the ring.
  // A join's member keeps `nick` (the holder's shared nick block) if given,
  // else a block of its own made from e.nick. Returns the event's block, or
  // null if malloc failed (the event still counts: ids stay consecutive).
  BlockRef apply(const NumberedEvent& e, const RingLimits& limits, BlockRef nick = {});

  // Starts the room again from a broker's snapshot (several nodes: what the
  // other nodes numbered is known only as a whole): its epoch, last id, the
  // oldest id the broker keeps and the members, the ring emptied for
  // preload(). Like the constructor, not an event: nobody is told.
  void restore(std::string_view epoch, uint64_t last_id, uint64_t oldest_stored,
               std::vector<Member> members);

  // Puts an already stored event into the ring (loading at start), moving
  // last_id up to it.
  void preload(uint64_t id, BlockRef block, const RingLimits& limits);

  std::string_view name() const { return name_; }
  std::string_view epoch() const { return epoch_; }
  uint64_t last_id() const { return last_id_; }
  // The oldest event still available (ring or store); last_id() + 1 if none.
  uint64_t oldest_available() const;
  const EventRing& ring() const { return ring_; }

  // Members in join order; invalidated by apply().
  std::span<const Member> members() const { return members_; }
  size_t size() const { return members_.size(); }
  // Members on this node (ids other than kNoMember).
  size_t local_members() const { return local_; }

  // Bookkeeping the engine keeps on the room for its owners: the last id a
  // local numbering handed out (ahead of last_id() while a batch waits for
  // its commit), the sessions that list it (joined or joining), proposals
  // not yet applied or dropped (the room may not be freed while either is
  // above 0), and when it was last used (which empty room goes first when
  // the table is full).
  uint64_t sequenced_id = 0;
  uint32_t holders = 0;
  uint32_t in_flight = 0;
  int64_t last_used_ms = 0;

  size_t memory_bytes() const;

 private:
  std::string name_;
  std::string epoch_;
  uint64_t last_id_;
  uint64_t oldest_stored_;
  std::vector<Member> members_;
  size_t local_ = 0;
  EventRing ring_;
};

}  // namespace chatd
