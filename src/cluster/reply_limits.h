// Bounds on what a reply from Redis may make us allocate. hiredis 0.14's
// reader callocs an array's element vector as soon as it reads "*N\r\n",
// for any N up to INT_MAX: 16 GiB for a dozen bytes from a broken or hostile
// peer. The bounded object functions wrap hiredis' defaults and refuse such
// an array, which the reader reports as an error, so the connection fails
// instead of the process. Installed on every context RedisClient makes, and
// on the fuzz target's readers.
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>

namespace chatd {

// The largest array accepted from Redis: a history page or a log range holds
// at most --max-replay (100,000) events, with room to spare.
inline constexpr int kMaxReplyElements = 1 << 20;

// hiredis' default reply functions with the array bound; one static table.
redisReplyObjectFunctions* bounded_reply_functions();

// Makes `reader` build replies with bounded_reply_functions().
inline void bound_replies(redisReader* reader) {
  reader->fn = bounded_reply_functions();
}

}  // namespace chatd
