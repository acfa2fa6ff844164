#include "cluster/redis_adapter.h"

#include <cerrno>

namespace chatd {
namespace {

// Brings the epoll registration in line with what hiredis asked for. An fd
// with no interest leaves the set, since epoll reports EPOLLHUP/EPOLLERR even
// for an empty mask and hiredis is not waiting then.
void sync(RedisEvents& ev) {
  uint32_t mask = (ev.reading ? EPOLLIN : 0u) | (ev.writing ? EPOLLOUT : 0u);
  long r = 0;
  if (mask == 0) {
    if (ev.registered) r = ev.loop->remove(ev.fd);
    ev.registered = false;
  } else if (!ev.registered) {
    r = ev.loop->add(ev.fd, mask, ev.token);
    ev.registered = r == 0;
  } else {
    r = ev.loop->modify(ev.fd, mask, ev.token);
  }
  if (r < 0) ev.last_error = r;
}

void add_read(void* p) {
  auto& ev = *static_cast<RedisEvents*>(p);
  if (ev.reading) return;
  ev.reading = true;
  sync(ev);
}

void del_read(void* p) {
  auto& ev = *static_cast<RedisEvents*>(p);
  if (!ev.reading) return;
  ev.reading = false;
  sync(ev);
}

void add_write(void* p) {
  auto& ev = *static_cast<RedisEvents*>(p);
  if (ev.writing) return;
  ev.writing = true;
  sync(ev);
}

void del_write(void* p) {
  auto& ev = *static_cast<RedisEvents*>(p);
  if (!ev.writing) return;
  ev.writing = false;
  sync(ev);
}

// hiredis calls this before closing the fd, from inside whatever call freed
// the context (often a read handler): after it, ev.ctx is null.
void cleanup(void* p) {
  auto& ev = *static_cast<RedisEvents*>(p);
  ev.reading = ev.writing = false;
  sync(ev);
  ev.ctx = nullptr;
  ev.fd = -1;
}

}  // namespace

long redis_attach(redisAsyncContext* ctx, EventLoop& loop, uint64_t token, RedisEvents& ev) {
  if (ctx->ev.data != nullptr) return -EEXIST;
  ev = RedisEvents{};
  ev.ctx = ctx;
  ev.loop = &loop;
  ev.fd = ctx->c.fd;
  ev.token = token;
  ctx->ev.addRead = add_read;
  ctx->ev.delRead = del_read;
  ctx->ev.addWrite = add_write;
  ctx->ev.delWrite = del_write;
  ctx->ev.cleanup = cleanup;
  ctx->ev.data = &ev;
  return 0;
}

void redis_dispatch(RedisEvents& ev, uint32_t events) {
  // An error or hang-up is handed to the read side: reading then fails and
  // hiredis disconnects with its error; while connecting, either side checks
  // SO_ERROR first.
  if (ev.ctx && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
    redisAsyncHandleRead(ev.ctx);
  if (ev.ctx && (events & EPOLLOUT)) redisAsyncHandleWrite(ev.ctx);
}

}  // namespace chatd
