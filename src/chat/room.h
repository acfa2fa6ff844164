// Room: the joined members in join order and the server-wide event counter.
//
// Owns each member's nick (one std::string per join). Knows nothing of
// connections or fds: a member is the app's MemberId (connection slot, so
// ids are small and dense). find(id) is O(1) through a slot-indexed table,
// because every msg looks its sender up; join-by-nick and leave are linear,
// as they are rare next to messages and fan-out is linear anyway.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "chat/member.h"

namespace chatd {

class Room {
 public:
  // Appends a member; the caller has checked the id is not in the room and
  // the nick is valid and free (find_nick).
  void join(MemberId id, std::string_view nick);

  // Removes the member with this id, keeping the others' order; returns it,
  // or nullopt if it was not in the room.
  std::optional<Member> leave(MemberId id);

  // The member whose nick equals nick ASCII-case-insensitively, or nullptr.
  const Member* find_nick(std::string_view nick) const;

  // The member with this id, or nullptr. O(1).
  const Member* find(MemberId id) const;

  // Members in join order; invalidated by join and leave.
  std::span<const Member> members() const { return members_; }
  size_t size() const { return members_.size(); }

  // Hands out the next event id (1, 2, 3, ...): one counter for all events.
  uint64_t take_event_id() { return next_id_++; }
  // The id the next event will get.
  uint64_t next_id() const { return next_id_; }

 private:
  static constexpr uint32_t kAbsent = UINT32_MAX;
  std::vector<Member> members_;
  std::vector<uint32_t> index_;  // by MemberId: position in members_, or kAbsent
  uint64_t next_id_ = 1;
};

}  // namespace chatd
