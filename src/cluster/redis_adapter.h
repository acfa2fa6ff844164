// The glue between a hiredis async context and our EventLoop, in the manner
// of hiredis' adapters/ae.h: hiredis calls addRead/delRead/addWrite/delWrite
// when it wants to wait for its socket, and cleanup before it closes it; the
// hooks keep the fd in our epoll set under the caller's token. The app calls
// redis_dispatch() when that token comes back from epoll_wait, which runs
// redisAsyncHandleRead/Write, so every reply callback runs on the loop.
//
// Ownership: RedisEvents is the caller's (no malloc, unlike ae.h's adapter)
// and must outlive the context's attachment; it owns neither the context nor
// the fd. cleanup only unregisters the fd and clears `ctx`, which is how the
// caller learns that hiredis freed the context inside a callback.
#pragma once

#include <hiredis/async.h>

#include <cstdint>

#include "net/event_loop.h"

namespace chatd {

struct RedisEvents {
  redisAsyncContext* ctx = nullptr;  // null once hiredis freed it
  EventLoop* loop = nullptr;
  int fd = -1;
  uint64_t token = 0;
  bool reading = false;
  bool writing = false;
  bool registered = false;  // in the epoll set
  long last_error = 0;      // the last failed epoll_ctl, -errno; 0 if none
};

// Attaches `ctx` (fresh from redisAsyncConnect*, with no error) to `loop`
// under `token`, with `ev` as the hooks' state. Returns 0, or -EEXIST if the
// context already has hooks.
long redis_attach(redisAsyncContext* ctx, EventLoop& loop, uint64_t token, RedisEvents& ev);

// Hands the epoll events seen for ev.token to hiredis: readable (or an
// error/hang-up) runs redisAsyncHandleRead, writable runs
// redisAsyncHandleWrite, in that order, skipping the write when the read
// freed the context. Does nothing when the context is gone.
void redis_dispatch(RedisEvents& ev, uint32_t events);

}  // namespace chatd
