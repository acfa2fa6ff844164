#include "chat/room.h"

#include <algorithm>
#include <cassert>

namespace chatd {

Room::Room(std::string_view name, std::string_view epoch, uint64_t last_id, uint64_t oldest_stored)
    : name_(name), epoch_(epoch), last_id_(last_id), oldest_stored_(oldest_stored) {
  sequenced_id = last_id;
}

BlockRef Room::apply(const NumberedEvent& e, const RingLimits& limits, BlockRef nick) {
  assert(e.room == this && e.id == last_id_ + 1);
  if (e.kind == EventKind::join) {
    members_.push_back(Member{e.member, nick ? std::move(nick) : make_nick(e.nick)});
    if (e.member != kNoMember) ++local_;
  } else if (e.kind == EventKind::leave) {
    // By id for a local member, by nick for one of another node.
    auto it = std::find_if(members_.begin(), members_.end(), [&](const Member& m) {
      return e.member != kNoMember ? m.id == e.member : m.id == kNoMember && m.nick() == e.nick;
    });
    if (it != members_.end()) {
      if (it->id != kNoMember) --local_;
      members_.erase(it);
    }
  }
  last_id_ = e.id;
  sequenced_id = std::max(sequenced_id, e.id);
  BlockRef block = encode_event(name_, e.kind, e.id, e.ts, e.nick, e.text);
  ring_.push(e.id, block, limits);
  return block;
}

void Room::restore(std::string_view epoch, uint64_t last_id, uint64_t oldest_stored,
                   std::vector<Member> members) {
  epoch_ = std::string(epoch);
  last_id_ = last_id;
  oldest_stored_ = std::max<uint64_t>(oldest_stored, 1);
  sequenced_id = last_id;
  members_ = std::move(members);
  local_ = size_t(std::count_if(members_.begin(), members_.end(),
                                [](const Member& m) { return m.id != kNoMember; }));
  ring_ = EventRing();
}

void Room::preload(uint64_t id, BlockRef block, const RingLimits& limits) {
  ring_.push(id, std::move(block), limits);
  last_id_ = std::max(last_id_, id);
  sequenced_id = std::max(sequenced_id, last_id_);
}

uint64_t Room::oldest_available() const {
  if (oldest_stored_ != 0) return oldest_stored_;
  return ring_.empty() ? last_id_ + 1 : ring_.first_id();
}

size_t Room::memory_bytes() const {
  // Nick blocks are shared with the members' other rooms: not counted here.
  return sizeof(Room) + name_.capacity() + members_.capacity() * sizeof(Member) +
         ring_.memory_bytes();
}

}  // namespace chatd
