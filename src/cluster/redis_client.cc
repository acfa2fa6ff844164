#include "cluster/redis_client.h"

#include <strings.h>

#include "base/clock.h"
#include "cluster/reply_limits.h"

namespace chatd {
namespace {

// Replies to these do not pair one-to-one with commands (hiredis keeps their
// callbacks per channel), so they cannot use the one-shot slots.
bool is_push_command(const char* name, size_t len) {
  static constexpr std::string_view kPush[] = {"subscribe", "psubscribe", "unsubscribe",
                                               "punsubscribe", "monitor"};
  for (std::string_view p : kPush)
    if (len == p.size() && strncasecmp(name, p.data(), len) == 0) return true;
  return false;
}

}  // namespace

std::string_view redis_state_name(RedisState s) {
  switch (s) {
    case RedisState::idle:
      return "idle";
    case RedisState::connecting:
      return "connecting";
    case RedisState::handshaking:
      return "handshaking";
    case RedisState::ready:
      return "ready";
    case RedisState::waiting:
      return "waiting";
    case RedisState::closed:
      return "closed";
  }
  return "?";
}

RedisClient::RedisClient(EventLoop& loop, uint64_t token, RedisUrl url, RedisClientOptions options)
    : loop_(loop),
      token_(token),
      url_(std::move(url)),
      options_(options),
      backoff_(options.backoff, options.seed),
      slots_(options.max_in_flight > 0 ? options.max_in_flight : 1) {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    slots_[i].client = this;
    slots_[i].next_free = i + 1 < slots_.size() ? i + 1 : kNoSlot;
  }
  free_head_ = 0;
}

RedisClient::~RedisClient() {
  state_ = RedisState::closed;
  deadline_ms_ = -1;
  // Runs every pending callback with null; on_disconnect sees `closed` and
  // schedules nothing.
  if (ev_.ctx) redisAsyncFree(ev_.ctx);
}

void RedisClient::set_state(RedisState s) {
  state_ = s;
  if (state_fn_) state_fn_(state_data_, s);
}

void RedisClient::start() {
  if (state_ == RedisState::idle) connect(mono_ms());
}

void RedisClient::connect(int64_t now_ms) {
  state_ = RedisState::connecting;
  deadline_ms_ = now_ms + options_.connect_timeout_ms;
  handshake_pending_ = 0;
  redisAsyncContext* ctx = url_.kind == RedisUrl::Kind::tcp
                               ? redisAsyncConnect(url_.host.c_str(), url_.port)
                               : redisAsyncConnectUnix(url_.path.c_str());
  if (!ctx) return fail("out of memory", true);
  if (ctx->err) {
    // Refused at once (nothing listens on a loopback port or socket), or
    // the name did not resolve: the context never reached the loop.
    std::string why = ctx->errstr ? ctx->errstr : "connect failed";
    redisAsyncFree(ctx);
    return fail(why, true);
  }
  ctx->data = this;
  bound_replies(ctx->c.reader);
  redis_attach(ctx, loop_, token_, ev_);
  redisAsyncSetDisconnectCallback(ctx, on_disconnect);
  redisAsyncSetConnectCallback(ctx, on_connect);  // registers for writable
  if (ev_.last_error < 0) return fail("epoll_ctl failed", false);
  set_state(RedisState::connecting);
}

void RedisClient::on_connect(const redisAsyncContext* ctx, int status) {
  auto* c = static_cast<RedisClient*>(ctx->data);
  if (c->state_ != RedisState::connecting) return;
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns.
    return c->fail(ctx->c.errstr[0] ? ctx->c.errstr : "connect failed", true);
  }
  c->state_ = RedisState::handshaking;
  redisAsyncContext* ac = c->ev_.ctx;
  if (c->url_.has_password) {
    const char* argv[3];
    size_t len[3];
    int argc = 0;
    argv[argc] = "AUTH";
    len[argc++] = 4;
    if (!c->url_.user.empty()) {
      argv[argc] = c->url_.user.data();
      len[argc++] = c->url_.user.size();
    }
    argv[argc] = c->url_.password.data();
    len[argc++] = c->url_.password.size();
    if (redisAsyncCommandArgv(ac, on_handshake_reply, c, argc, argv, len) == REDIS_OK)
      ++c->handshake_pending_;
  }
  if (c->url_.db != 0) {
    std::string db = std::to_string(c->url_.db);
    const char* argv[2] = {"SELECT", db.c_str()};
    size_t len[2] = {6, db.size()};
    if (redisAsyncCommandArgv(ac, on_handshake_reply, c, 2, argv, len) == REDIS_OK)
      ++c->handshake_pending_;
  }
  if (!c->options_.name.empty()) {
    const char* argv[3] = {"CLIENT", "SETNAME", c->options_.name.c_str()};
    size_t len[3] = {6, 7, c->options_.name.size()};
    if (redisAsyncCommandArgv(ac, on_handshake_reply, c, 3, argv, len) == REDIS_OK)
      ++c->handshake_pending_;
  }
  if (c->handshake_pending_ == 0) c->connected();
}

void RedisClient::on_handshake_reply(redisAsyncContext*, void* r, void* client) {
  auto* c = static_cast<RedisClient*>(client);
  auto* reply = static_cast<redisReply*>(r);
  if (c->state_ != RedisState::handshaking) return;
  // A null reply means hiredis is freeing the context (the connection broke).
  if (!reply) return c->fail("connection lost while authenticating", true);
  if (reply->type == REDIS_REPLY_ERROR)
    return c->fail(std::string("Redis refused AUTH/SELECT/SETNAME: ") + reply->str, false);
  if (--c->handshake_pending_ == 0) c->connected();
}

void RedisClient::connected() {
  deadline_ms_ = -1;
  ++stats_.connects;
  // Only a connection that got this far resets the backoff: a server that
  // accepts and then refuses AUTH keeps being retried ever more slowly.
  backoff_.reset();
  set_state(RedisState::ready);
}

void RedisClient::on_disconnect(const redisAsyncContext* ctx, int) {
  auto* c = static_cast<RedisClient*>(ctx->data);
  if (c->state_ == RedisState::waiting || c->state_ == RedisState::closed) return;
  c->fail(ctx->c.errstr[0] ? ctx->c.errstr : "connection closed", true);
}

void RedisClient::fail(std::string why, bool hiredis_frees) {
  if (state_ == RedisState::ready) {
    ++stats_.disconnects;
  } else {
    ++stats_.connect_failures;
  }
  last_error_ = std::move(why);
  handshake_pending_ = 0;
  // The state changes before the context is freed, so the callbacks that
  // freeing runs (on_disconnect, null replies) see `waiting` and do nothing.
  state_ = RedisState::waiting;
  deadline_ms_ = mono_ms() + backoff_.next_delay_ms();
  if (!hiredis_frees && ev_.ctx) redisAsyncFree(ev_.ctx);
  set_state(RedisState::waiting);
}

void RedisClient::on_timer(int64_t now_ms) {
  if (deadline_ms_ < 0 || now_ms < deadline_ms_) return;
  if (state_ == RedisState::waiting) {
    connect(now_ms);
  } else if (state_ == RedisState::connecting || state_ == RedisState::handshaking) {
    fail("no connection within " + std::to_string(options_.connect_timeout_ms) + " ms", false);
  }
}

SendResult RedisClient::command(int argc, const char* const* argv, const size_t* argvlen,
                                RedisReplyFn fn, void* data) {
  // A context hiredis has begun to tear down refuses commands; say not_ready
  // so the caller answers `unavailable` as for any lost connection.
  if (state_ != RedisState::ready || !ev_.ctx ||
      (ev_.ctx->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING))) {
    ++stats_.refused_not_ready;
    return SendResult::not_ready;
  }
  // On a subscribed connection hiredis would take any reply for a push.
  if (argc <= 0 || is_push_command(argv[0], argvlen[0]) || (ev_.ctx->c.flags & REDIS_SUBSCRIBED))
    return SendResult::refused;
  if (free_head_ == kNoSlot) {
    ++stats_.refused_full;
    return SendResult::full;
  }
  uint32_t i = free_head_;
  Slot& s = slots_[i];
  free_head_ = s.next_free;
  s.fn = fn;
  s.data = data;
  s.sent_us = mono_us();
  if (redisAsyncCommandArgv(ev_.ctx, on_reply, &s, argc, const_cast<const char**>(argv), argvlen) !=
      REDIS_OK) {
    s.next_free = free_head_;
    free_head_ = i;
    return SendResult::refused;
  }
  ++in_flight_;
  ++stats_.commands;
  return SendResult::sent;
}

SendResult RedisClient::subscribe(std::string_view channel) {
  return pubsub("SUBSCRIBE", channel);
}

SendResult RedisClient::unsubscribe(std::string_view channel) {
  return pubsub("UNSUBSCRIBE", channel);
}

SendResult RedisClient::pubsub(const char* verb, std::string_view channel) {
  if (state_ != RedisState::ready || !ev_.ctx ||
      (ev_.ctx->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING))) {
    ++stats_.refused_not_ready;
    return SendResult::not_ready;
  }
  const char* argv[2] = {verb, channel.data()};
  size_t len[2] = {std::char_traits<char>::length(verb), channel.size()};
  // hiredis keeps this callback per channel and runs it for every push on
  // it; no slot is used, so subscriptions do not count as in flight.
  if (redisAsyncCommandArgv(ev_.ctx, on_push, this, 2, argv, len) != REDIS_OK)
    return SendResult::refused;
  ++stats_.commands;
  return SendResult::sent;
}

void RedisClient::on_push(redisAsyncContext*, void* reply, void* client) {
  auto* c = static_cast<RedisClient*>(client);
  // Null: the context is being freed; the state change tells the owner.
  if (!reply || !c->push_fn_) return;
  c->push_fn_(c->push_data_, static_cast<const redisReply*>(reply));
}

void RedisClient::on_reply(redisAsyncContext*, void* reply, void* slot) {
  Slot& s = *static_cast<Slot*>(slot);
  RedisClient& c = *s.client;
  RedisReplyFn fn = s.fn;
  void* data = s.data;
  if (reply) {
    int64_t us = mono_us() - s.sent_us;
    c.stats_.rtt.record(us > 0 ? uint64_t(us) : 0);
    ++c.stats_.replies;
  } else {
    ++c.stats_.failed;
  }
  // The slot is free before the callback runs, so the callback may send.
  s.next_free = c.free_head_;
  c.free_head_ = uint32_t(&s - c.slots_.data());
  --c.in_flight_;
  if (fn) fn(data, static_cast<const redisReply*>(reply));
}

}  // namespace chatd
