// Events: what every member of a room receives (PROTOCOL.md: system join and
// leave, msg). A room changes only by applying a *numbered* event; who
// numbered it (this process at once, or a broker later) is the app's affair.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/block.h"
#include "chat/member.h"

namespace chatd {

class Room;

enum class EventKind : uint8_t { join, leave, msg };

// What a join asked for besides membership: how to catch up (PROTOCOL.md,
// "Join, history and resume"). Views point into the caller's storage.
struct JoinAsk {
  bool has_since = false;
  uint64_t since = 0;
  std::string_view epoch;
  bool has_history = false;
  uint64_t history = 0;
  std::string_view ref;
  // A join with none of room, since, epoch, history and ref: a version 1
  // client, whose welcome keeps the version 1 shape (nick and users only).
  bool v1 = false;
  // Shared rooms: the oldest events of this resume, read from the broker's
  // log because the room's ring no longer has them (framed, consecutive
  // from prefix_first); the ring gives the rest.
  std::span<const BlockRef> prefix;
  uint64_t prefix_first = 0;
};

// An event the chat rules accepted, waiting for its number. Views point into
// the engine's parser buffer: valid until its next on_text call.
struct Proposal {
  Room* room = nullptr;
  EventKind kind = EventKind::msg;
  MemberId member = kNoMember;  // who caused it (kNoMember: no one to answer)
  std::string_view nick;
  std::string_view text;  // msg only
  JoinAsk ask;            // join; for msg and leave only its ref
};

// An event with its place in the room's order. Views as the producer's.
struct NumberedEvent {
  Room* room = nullptr;
  EventKind kind = EventKind::msg;
  uint64_t id = 0;  // the room's counter: exactly room->last_id() + 1
  int64_t ts = 0;   // ms since the Unix epoch
  MemberId member = kNoMember;
  std::string_view nick;
  std::string_view text;
  JoinAsk ask;
};

// Encodes e into one whole text frame, shared as is by every recipient and
// kept for replay and history. Null only if malloc fails.
BlockRef encode_event(std::string_view room, EventKind kind, uint64_t id, int64_t ts,
                      std::string_view nick, std::string_view text);

}  // namespace chatd
