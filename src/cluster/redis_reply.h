// Redis replies decoded into plain data: the shapes the broker expects back
// (a pub/sub push, the publish script's result, an event's payload on a room
// channel), checked in one place so a surprise from the wire is a `false`,
// never a crash or an out-of-bounds read. Views point into the redisReply (or
// the payload string) and live as long as it does. Pure; fuzzed by
// fuzz/redis_reply_fuzz.cc.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string_view>

namespace chatd {

// One push on a subscribed connection: ["message", channel, payload],
// ["pmessage", pattern, channel, payload], or a (p)(un)subscribe
// confirmation [kind, channel, count].
struct PubSubMessage {
  enum class Kind { message, pmessage, subscribe, unsubscribe, psubscribe, punsubscribe };
  Kind kind = Kind::message;
  std::string_view pattern;  // pmessage only
  std::string_view channel;
  std::string_view payload;  // message and pmessage
  long long count = 0;       // confirmations: subscriptions left on the connection
};

// Decodes a push; returns false (out unspecified) for any other shape.
bool decode_pubsub(const redisReply* reply, PubSubMessage& out);

// The broker's publish script answers [id, epoch, ...]: the id it gave the
// event in its room (>= 1) and the room's epoch. Extra elements are allowed
// so the script can grow without breaking an older reader.
struct PublishResult {
  uint64_t id = 0;
  std::string_view epoch;
};

// The longest epoch accepted from Redis; the protocol's epochs are short tokens.
inline constexpr size_t kMaxEpochBytes = 64;

enum class ReplyStatus { ok, error_reply, bad_shape };

// Decodes the script's answer. Returns ok with out filled; error_reply when
// Redis answered an error (its text in `error`, e.g. "NOSCRIPT ..."); or
// bad_shape for anything else (nil, a wrong type, id 0, an empty epoch).
ReplyStatus decode_publish_result(const redisReply* reply, PublishResult& out,
                                  std::string_view& error);

// An event as the script publishes it on a room's channel:
// "<epoch> <id> <body>", body the event's JSON exactly as first encoded.
struct EventPayload {
  std::string_view epoch;
  uint64_t id = 0;
  std::string_view body;
};

// Splits a channel payload; returns false if it is not "<epoch> <id> <body>"
// with a non-empty epoch of at most kMaxEpochBytes, a decimal id >= 1 and a
// non-empty body.
bool decode_event_payload(std::string_view payload, EventPayload& out);

// True when `reply` is the NOSCRIPT error that asks for the script to be
// loaded again (Redis restarted empty, or SCRIPT FLUSH).
bool is_noscript(const redisReply* reply);

}  // namespace chatd
