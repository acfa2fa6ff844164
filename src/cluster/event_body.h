// The body of an event as it travels through Redis (the log entry and the
// channel message are "<epoch> <id> <body>", redis_reply.h): what a node
// needs to apply it, not its JSON, since each node encodes the frame once
// for its own members. "<kind> <ts> <node> <cookie> <nick bytes> <nick><text>",
// kind one of j, l, m; cookie names the proposal on its node (0: none, e.g.
// a leave the reaper made). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chatd {

struct EventBody {
  char kind = 'm';  // 'j' join, 'l' leave, 'm' msg
  int64_t ts = 0;
  std::string_view node;
  uint64_t cookie = 0;
  std::string_view nick;
  std::string_view text;  // msg only
};

// Appends b's encoding to out.
void encode_event_body(const EventBody& b, std::string& out);

// Decodes a body; false if it is not one (views then unspecified). Views
// point into `body`.
bool decode_event_body(std::string_view body, EventBody& out);

}  // namespace chatd
