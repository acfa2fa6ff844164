// check_event_body: runs the event body decoder (cluster/event_body.h) on
// bytes that reached a node from Redis and checks what it claims when it
// accepts them, for every fuzz target that meets an event payload.
#pragma once

#include <string>
#include <string_view>

#include "cluster/event_body.h"
#include "fuzz_check.h"

inline bool view_inside(std::string_view v, std::string_view whole) {
  return v.data() >= whole.data() && v.data() + v.size() <= whole.data() + whole.size();
}

// Decodes `body`; if it is a body: its views lie inside it, node and nick
// are non-empty and the node has no space, text (a msg's only) runs to the
// end, and the fields come back unchanged through encode then decode.
inline void check_event_body(std::string_view body) {
  chatd::EventBody b;
  if (!chatd::decode_event_body(body, b)) return;
  CHECK(b.kind == 'j' || b.kind == 'l' || b.kind == 'm');
  CHECK(view_inside(b.node, body) && view_inside(b.nick, body) && view_inside(b.text, body));
  CHECK(!b.node.empty() && b.node.find(' ') == std::string_view::npos);
  CHECK(!b.nick.empty());
  CHECK((b.kind == 'm') == !b.text.empty());
  CHECK(b.text.data() + b.text.size() == body.data() + body.size());
  std::string again;
  chatd::encode_event_body(b, again);
  // Numbers come back in their shortest form: never longer than they came.
  CHECK(again.size() <= body.size());
  chatd::EventBody c;
  CHECK(chatd::decode_event_body(again, c));
  CHECK(c.kind == b.kind && c.ts == b.ts && c.node == b.node && c.cookie == b.cookie);
  CHECK(c.nick == b.nick && c.text == b.text);
  std::string third;
  chatd::encode_event_body(c, third);
  CHECK(third == again);
}
