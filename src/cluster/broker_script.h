// The broker's one Lua script: every change to the cluster's shared state
// (a room's numbered events, its members, the nicks, the nodes) is one call
// of it, which Redis runs alone, so all nodes see one order. Loaded once per
// connection with SCRIPT LOAD and run by its SHA-1 (EVALSHA sha 0 op ...).
//
// Keys (a room R's keys share the hash tag {R}):
//   chatd:{R}:epoch, chatd:{R}:seq    the room's id sequence
//   chatd:{R}:log                     "<epoch> <id> <body>", oldest first, capped
//   chatd:{R}:members                 nick key -> "<join id> <node> <token> <nick>"
//   chatd:{R} (channel)               the same payload as the log entry
//   chatd:nick:<key>                  "<node> <token>": who holds a nick
//   chatd:node:<node>:rooms / :nicks  sets: what to undo when the node dies
//   chatd:nodes                       node -> its last heartbeat (Redis' clock, ms)
//   chatd:clock                       the last heartbeat of any node
//   chatd:reaped:<node>               a day's mark: this node was declared dead
//   chatd:rooms                       sorted set: room -> members on all nodes
#pragma once

#include <string_view>

namespace chatd {

// The script's source. SCRIPT LOAD answers the SHA-1 that EVALSHA takes.
std::string_view broker_script();

}  // namespace chatd
