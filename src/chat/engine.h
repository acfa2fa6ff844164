// ChatEngine: the chat protocol's core. Takes one client text message at a
// time and returns framed blocks for the app to deliver; never sees an fd.
//
// Ownership: the engine owns the Room, the one reused JSON parser and the
// limits. Each connection's Session lives in the app's connection and is
// passed in; the engine keeps no per-connection state of its own besides the
// member entry of a joined connection.
//
// Delivery contract for the app: send `reply` (if any) to the sender first,
// then `broadcast` (if any) to every member of room() (the sender included,
// after a join too). One block per event, shared by all recipients.
//
// Rate limiting applies to `msg` messages that pass every other check, i.e.
// to what would be broadcast: the limit protects the room. Joins and invalid
// messages are not charged (they cost only the sender an error reply, and
// the app's read budget and output limit bound those).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/block.h"
#include "chat/errors.h"
#include "chat/json_reader.h"
#include "chat/rate_limiter.h"
#include "chat/room.h"

namespace chatd {

struct ChatLimits {
  uint32_t rate_per_sec = 20;  // 0 disables rate limiting (--rate 0)
  uint32_t burst = 40;
  // The WebSocket message limit. The parser is allocated for up to
  // kDefaultJsonCapacity of it at start (a 16 MiB limit would cost simdjson
  // ~100 MB up front) and grows once, then stays, if a longer message comes.
  size_t max_message = kDefaultJsonCapacity;
};

// What one client message produces.
struct Outcome {
  BlockRef reply;      // welcome or error: for the sender alone, sent first
  BlockRef broadcast;  // the event: for every member of room(), the sender included
};

// Per-connection chat state, kept by the app in its connection.
struct Session {
  bool joined = false;
  TokenBucket bucket;
};

// Totals since start. The app's metrics count deliveries (messages_in per
// text message, events_out per recipient) themselves; these add what only the
// engine sees.
struct ChatCounters {
  uint64_t messages_in = 0;   // text messages passed to on_text
  uint64_t events = 0;        // events created (join, leave, msg): one block each
  uint64_t errors = 0;        // error replies, rate_limited included
  uint64_t rate_limited = 0;  // messages dropped by the rate limit
};

class ChatEngine {
 public:
  using Outcome = chatd::Outcome;

  explicit ChatEngine(const ChatLimits& limits = {});

  // Handles one complete text message json[0, len) from connection `id`
  // (kJsonPadding readable bytes must follow it; they are not modified).
  // wall_ms stamps an event, mono_ms drives the rate limit. On a join the
  // member is in room() when this returns; on an error nothing changes but
  // the counters.
  Outcome on_text(Session& s, MemberId id, const uint8_t* json, size_t len, int64_t wall_ms,
                  int64_t mono_ms);

  // Ends a connection's chat: returns the leave event (already removed from
  // room(), so deliver it to room().members()), or null if it had not joined.
  BlockRef on_disconnect(Session& s, MemberId id, int64_t wall_ms);

  const Room& room() const { return room_; }
  const ChatCounters& counters() const { return counters_; }
  const ChatLimits& limits() const { return limits_; }

 private:
  Outcome fail(ChatError e);
  Outcome join(Session& s, MemberId id, std::string_view nick, int64_t wall_ms);
  Outcome msg(Session& s, MemberId id, std::string_view text, int64_t wall_ms, int64_t mono_ms);

  ChatLimits limits_;
  Room room_;
  JsonReader reader_;
  ChatCounters counters_;
  // Error frames never change: encoded once at start, then shared.
  BlockRef error_frames_[kChatErrorCount];
};

}  // namespace chatd
