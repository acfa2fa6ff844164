// RedisClient: one connection to Redis on our event loop, never blocking it.
// It connects asynchronously (hiredis' async context through the adapter in
// redis_adapter.h), authenticates and selects the database from the URL,
// sends commands with a plain function pointer + void* per reply, bounds the
// commands in flight, times every round trip into a histogram, and when the
// connection fails or drops it tries again after an exponential backoff with
// jitter. The app's loop drives it: on_events() for the client's token,
// on_timer() at next_deadline_ms().
//
//   idle --start--> connecting --TCP up--> handshaking --AUTH/SELECT ok--> ready
//     ^                 |  timeout/refused        | error/timeout          | dropped
//     |                 v                         v                        v
//     +------------ waiting (backoff) <-----------+------------------------+
//
// Commands are accepted only while ready. A command in flight when the
// connection drops gets its callback with a null reply: the client never
// resends, since only the caller knows whether a command may run twice (a
// publish script must not).
//
// Subscriptions: a client that subscribes is a subscription connection
// (Redis lets a subscribed connection do nothing else): command() refuses
// while any channel is subscribed. Subscriptions die with the connection;
// the owner subscribes again when the state callback reports `ready`.
//
// Ownership: owns the hiredis context and its pool of in-flight slots (sized
// once: no allocation per command beyond hiredis' own); borrows the loop. Not
// copyable or movable (hiredis holds pointers into it). Callbacks run on the
// loop from inside on_events()/on_timer()/the destructor; they may send new
// commands but must not destroy the client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/backoff.h"
#include "cluster/redis_adapter.h"
#include "cluster/redis_url.h"
#include "cluster/rtt_histogram.h"
#include "net/event_loop.h"

namespace chatd {

enum class RedisState : uint8_t { idle, connecting, handshaking, ready, waiting, closed };

// The name of a state, for logs: "ready", "waiting", ...
std::string_view redis_state_name(RedisState s);

// A reply, or null when the command failed without one (the connection was
// lost, or the client is being destroyed). The reply is hiredis' and is freed
// when the callback returns.
using RedisReplyFn = void (*)(void* data, const redisReply* reply);
// Called on every state change, after the client's own bookkeeping.
using RedisStateFn = void (*)(void* data, RedisState state);
// Called with every push on a subscribed connection: confirmations and
// messages alike (decode them with decode_pubsub). Never null.
using RedisPushFn = void (*)(void* data, const redisReply* push);

enum class SendResult {
  sent,
  not_ready,  // not connected (or still authenticating): answer `unavailable`
  full,       // max_in_flight commands await replies: answer `unavailable`
  refused,    // a command this client does not send (pub/sub, MONITOR) or hiredis refused
};

struct RedisClientOptions {
  uint32_t max_in_flight = 1024;
  // From connect() to ready (TCP and AUTH/SELECT): hiredis 0.14 has no
  // connect timeout of its own, and a dead host would otherwise hold the
  // attempt for minutes.
  int64_t connect_timeout_ms = 2000;
  BackoffPolicy backoff;
  uint64_t seed = 1;  // the backoff's jitter
  // CLIENT SETNAME at each connection ("" for none): CLIENT LIST then says
  // which node and which of its connections each one is.
  std::string name;
};

struct RedisClientStats {
  uint64_t connects = 0;          // connections that became ready
  uint64_t connect_failures = 0;  // attempts that never became ready
  uint64_t disconnects = 0;       // ready connections lost
  uint64_t commands = 0;          // sent
  uint64_t replies = 0;           // callbacks run with a reply
  uint64_t failed = 0;            // callbacks run with null
  uint64_t refused_not_ready = 0;
  uint64_t refused_full = 0;
  RttHistogram rtt;  // send to reply, replies only
};

class RedisClient {
 public:
  // Events for the connection's fd come back from `loop` under `token`.
  RedisClient(EventLoop& loop, uint64_t token, RedisUrl url, RedisClientOptions options);
  // Frees the context; every command still in flight gets its callback with null.
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void set_state_callback(RedisStateFn fn, void* data) {
    state_fn_ = fn;
    state_data_ = data;
  }

  // Begins the first connection attempt (idle -> connecting, or waiting if
  // it failed at once). Does nothing in any other state.
  void start();

  // Sends argv[0..argc) (binary-safe, lengths in argvlen) with `fn(data,
  // reply)` to run when the reply comes. Returns sent, or why not (then fn
  // never runs).
  SendResult command(int argc, const char* const* argv, const size_t* argvlen, RedisReplyFn fn,
                     void* data);

  // Every push of a subscription goes to fn(data, push).
  void set_push_callback(RedisPushFn fn, void* data) {
    push_fn_ = fn;
    push_data_ = data;
  }
  // Subscribes to (or unsubscribes from) `channel`; its pushes, the
  // confirmation first, go to the push callback. Returns sent, not_ready, or
  // refused (unsubscribing from nothing, or hiredis refused).
  SendResult subscribe(std::string_view channel);
  SendResult unsubscribe(std::string_view channel);

  // The loop saw `events` (EPOLLIN, EPOLLOUT, ...) for this client's token.
  void on_events(uint32_t events) { redis_dispatch(ev_, events); }

  // The monotonic time (ms, base/clock.h's mono_ms) at which on_timer() has
  // work: the end of a backoff or of a connect attempt; -1 if none.
  int64_t next_deadline_ms() const { return deadline_ms_; }
  // Runs what is due at `now_ms`: a connection attempt after a backoff, or
  // giving up on an attempt past connect_timeout_ms.
  void on_timer(int64_t now_ms);

  RedisState state() const { return state_; }
  uint32_t in_flight() const { return in_flight_; }
  uint64_t token() const { return token_; }
  uint32_t max_in_flight() const { return uint32_t(slots_.size()); }
  const RedisClientStats& stats() const { return stats_; }
  // Why the last attempt failed or the last connection dropped; "" if never.
  const std::string& last_error() const { return last_error_; }
  const RedisUrl& url() const { return url_; }

 private:
  struct Slot {
    RedisClient* client = nullptr;
    RedisReplyFn fn = nullptr;
    void* data = nullptr;
    int64_t sent_us = 0;
    uint32_t next_free = 0;
  };
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  static void on_connect(const redisAsyncContext* ctx, int status);
  static void on_disconnect(const redisAsyncContext* ctx, int status);
  static void on_reply(redisAsyncContext* ctx, void* reply, void* slot);
  static void on_handshake_reply(redisAsyncContext* ctx, void* reply, void* client);
  static void on_push(redisAsyncContext* ctx, void* reply, void* client);
  SendResult pubsub(const char* verb, std::string_view channel);

  void connect(int64_t now_ms);
  void connected();
  // Gives up the current connection (freeing the context unless hiredis is
  // already freeing it) and waits a backoff before the next attempt.
  void fail(std::string why, bool hiredis_frees);
  void set_state(RedisState s);

  EventLoop& loop_;
  uint64_t token_;
  RedisUrl url_;
  RedisClientOptions options_;
  Backoff backoff_;
  RedisEvents ev_;
  RedisState state_ = RedisState::idle;
  int64_t deadline_ms_ = -1;
  uint32_t handshake_pending_ = 0;
  std::vector<Slot> slots_;
  uint32_t free_head_ = kNoSlot;
  uint32_t in_flight_ = 0;
  RedisClientStats stats_;
  std::string last_error_;
  RedisStateFn state_fn_ = nullptr;
  void* state_data_ = nullptr;
  RedisPushFn push_fn_ = nullptr;
  void* push_data_ = nullptr;
};

}  // namespace chatd
