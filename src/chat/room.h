// Room: the joined members in join order and the server-wide event counter.
//
// Owns each member's nick (one std::string per join). Knows nothing of
// connections or fds: a member is the app's MemberId (connection slot).
// Lookups are linear scans: joins and leaves are rare next to messages, and
// fan-out walks members() in order anyway.
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

  // The member with this id, or nullptr.
  const Member* find(MemberId id) const;

  // Members in join order; invalidated by join and leave.
  std::span<const Member> members() const { return members_; }
  size_t size() const { return members_.size(); }

  // Hands out the next event id (1, 2, 3, ...): one counter for all events.
  uint64_t take_event_id() { return next_id_++; }
  // The id the next event will get.
  uint64_t next_id() const { return next_id_; }

 private:
  std::vector<Member> members_;
  uint64_t next_id_ = 1;
};

}  // namespace chatd
