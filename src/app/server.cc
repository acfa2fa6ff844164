// The loop itself: accepting, dispatching events, timers, shutdown and the
// deferred freeing of connections.
#include "app/server.h"

#include <malloc.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "base/sys.h"
#include "http/response.h"
#include "net/cidr.h"
#include "net/socket.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "ws/encoder.h"

namespace chatd {

namespace {

// New epochs must differ from every earlier run's: seeded from the kernel.
uint64_t random_seed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
    seed = uint64_t(wall_ms()) ^ uint64_t(getpid());
  return seed;
}

ChatLimits chat_limits(const Config& c) {
  ChatLimits l;
  l.rate_per_sec = c.rate;
  l.burst = c.burst;
  l.max_message = c.max_message;
  l.max_rooms_per_conn = c.max_rooms_per_conn;
  l.max_rooms = c.max_rooms;
  l.max_replay = c.max_replay;
  l.history_memory = c.history_memory;
  l.epoch_seed = random_seed();
  l.shared_rooms = !c.redis_url.empty();
  return l;
}

constexpr uint64_t kListenerToken = ~uint64_t{0};
constexpr uint64_t kSignalToken = ~uint64_t{0} - 1;
constexpr uint64_t kStoreToken = ~uint64_t{0} - 2;  // --fsync: commits completed
constexpr int kListenBacklog = 1024;
constexpr int kMaxEvents = 256;
// Accepts per wakeup, so a connection storm cannot starve established clients.
constexpr int kAcceptBatch = 128;
// After EMFILE/ENFILE the listener leaves the epoll set for this long: the
// waiting clients stay in the kernel's backlog instead of spinning the loop.
constexpr int64_t kAcceptPauseMs = 100;
// How long a closing connection may take to read our last bytes.
constexpr int64_t kClosingLingerMs = 5000;
// While the store refuses writes, how often the loop tries again.
constexpr int64_t kStoreRetryMs = 100;
// Between two retention steps while more events are due for deletion.
constexpr int64_t kPruneStepMs = 10;
// How long the loop must be idle after activity before the heap is trimmed.
constexpr int kTrimAfterQuietMs = 1000;

const char kBusyResponse[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n"
    "Connection: close\r\n\r\nserver is busy.\r\n";

}  // namespace

Server::Server(const Config& config, std::unique_ptr<EventStore> store)
    : config_(config),
      timeouts_({int64_t(config.head_timeout_s) * 1000, int64_t(config.ping_interval_s) * 1000,
                 int64_t(config.idle_timeout_s - config.ping_interval_s) * 1000, kClosingLingerMs}),
      store_(std::move(store)),
      history_(store_.get()),
      // With --redis the rooms' history is the broker's, not a store's.
      engine_(chat_limits(config), config.redis_url.empty() ? &history_ : nullptr,
              config.redis_url.empty() && store_->durable()) {
  reader_limits_.max_message = config.max_message;
  ping_frame_ = make_frame(Opcode::ping, {});
}

std::unique_ptr<Server> Server::create(const Config& config, std::string& error) {
  // Signals are blocked before any thread starts (the store's): a thread
  // created with SIGTERM unblocked would take its default action, killing
  // the process instead of reaching the signalfd.
  long sfd = make_signalfd({SIGINT, SIGTERM});
  if (sfd < 0) {
    error = std::string("signalfd: ") + strerror(int(-sfd));
    return nullptr;
  }
  UniqueFd signals{int(sfd)};
  ignore_sigpipe();
  // Listening before the store: a port in use leaves no database behind.
  long fd = listen_tcp(config.host.c_str(), config.port, kListenBacklog, config.reuse_port);
  if (fd < 0) {
    error = "cannot listen on " + config.host + ":" + std::to_string(config.port) + ": " +
            strerror(int(-fd));
    return nullptr;
  }
  UniqueFd listener{int(fd)};
  // The engine is built over the store. A database that cannot be used
  // stops the start with its one line, the file untouched.
  std::unique_ptr<EventStore> store;
  if (config.db == ":memory:" || !config.redis_url.empty()) {
    store = std::make_unique<MemoryStore>();
  } else {
    SqliteOptions options;
    options.fsync = config.fsync;
    options.retention = {config.retain_events, config.retain_days};
    store = SqliteStore::open(config.db, options, &error);
    if (!store) return nullptr;
  }
  std::unique_ptr<Server> s(new Server(config, std::move(store)));
  for (const std::string& o : config.allow_origins) {
    if (!s->origins_.add(o)) {
      error = "--allow-origin: \"" + o + "\" is not an origin";
      return nullptr;
    }
  }
  if (!s->static_files_.open(config.static_dir, &error)) return nullptr;
  if (long r = EventLoop::create(s->loop_); r < 0) {
    error = std::string("epoll_create1: ") + strerror(int(-r));
    return nullptr;
  }
  s->listener_ = std::move(listener);
  s->port_ = uint16_t(local_port(s->listener_.get()));
  s->signals_ = std::move(signals);
  s->loop_.add(s->listener_.get(), EPOLLIN, kListenerToken);
  s->listening_ = true;
  s->loop_.add(s->signals_.get(), EPOLLIN, kSignalToken);
  if (int cfd = s->store_->completion_fd(); cfd >= 0) s->loop_.add(cfd, EPOLLIN, kStoreToken);
  if (config.redis_url.empty()) s->load_rooms();
  if (!config.redis_url.empty()) s->start_broker();

  // The table has room for one slot per possible fd, reserved once here so
  // it never moves (a Connection& stays valid for a whole loop turn). Slots
  // are constructed as fds are first used: untouched capacity costs address
  // space, not memory.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  size_t slots = lim.rlim_cur == RLIM_INFINITY ? 1 << 20 : size_t(lim.rlim_cur);
  s->conns_.reserve(std::min<size_t>(slots, 1 << 20));
  s->timeouts_.resize(uint32_t(s->conns_.capacity()));
  return s;
}

int Server::run() {
  log_line("listening on http://%s:%u/ (static %s)", config_.host.c_str(), port_,
           static_files_.root().c_str());
  std::array<epoll_event, kMaxEvents> events;
  for (;;) {
    int64_t now = mono_ms();
    run_timeouts(now);
    if (broker_) broker_->on_timer(now), after_broker();
    free_queued();
    finish_turn();  // commit, then deliver: nothing is sent before it is stored
    if (broker_) after_broker();
    flush_dirty();
    prune_due_ = store_->prune_step();
    bool farewell = broker_ && broker_->bye_pending();
    if (stopping_ && ((metrics_.connections_open == 0 && !farewell) || now >= stop_deadline_))
      break;
    int timeout = dirty_.empty() ? wait_timeout(now) : 0;
    if (heap_settling_ && (timeout < 0 || timeout > kTrimAfterQuietMs)) timeout = kTrimAfterQuietMs;
    int n = loop_.wait(events.data(), kMaxEvents, timeout);
    if (n < 0) {
      log_line("epoll_wait: %s", strerror(-n));
      return 1;
    }
    if (n == 0 && heap_settling_ && timeout == kTrimAfterQuietMs) {
      // Quiet after a burst: hand the heap's free pages back to the kernel.
      // glibc keeps what a wave of joins or a drained backlog freed, so RSS
      // would stay at the burst's high-water mark without this.
      release_spare_output();
      malloc_trim(0);
      heap_settling_ = false;
    }
    if (n > 0) heap_settling_ = true;
    for (int i = 0; i < n; ++i) dispatch(events[size_t(i)]);
  }
  drain_store(events.data(), kMaxEvents);
  log_line("stopped (%llu connections left)", (unsigned long long)metrics_.connections_open);
  return 0;
}

// The last leave events (and a commit still with the writer thread) are
// stored before the process exits, within the grace period.
void Server::drain_store(epoll_event* events, int max_events) {
  int64_t deadline = mono_ms() + std::max<int64_t>(config_.shutdown_grace_ms, 1000);
  while ((committing_ || !batch_.empty()) && mono_ms() < deadline) {
    finish_turn();
    if (!committing_ && (batch_.empty() || !store_ok_)) break;
    int n = loop_.wait(events, max_events, int(kStoreRetryMs));
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kStoreToken) on_commits_done();
    }
  }
}

void Server::dispatch(const epoll_event& ev) {
  if (ev.data.u64 == kListenerToken) return on_accept();
  if (ev.data.u64 == kSignalToken) return on_signal();
  if (ev.data.u64 == kStoreToken) return on_commits_done();
  if (is_broker_token(ev.data.u64)) {
    if (broker_) broker_->on_events(ev.data.u64, ev.events), after_broker();
    return;
  }
  uint32_t fd = uint32_t(ev.data.u64);
  Connection& c = slot(fd);
  if (c.phase == Phase::free || token_of(c) != ev.data.u64) return;  // stale event
  if ((ev.events & (EPOLLHUP | EPOLLERR)) && !(c.interest & EPOLLIN)) {
    // Not reading (paused or past the peer's EOF), so on_readable would not
    // notice; level-triggered HUP/ERR would otherwise wake every turn.
    return connection_lost(c);
  }
  if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
  if ((ev.events & EPOLLOUT) && c.phase != Phase::free) on_writable(c);
}

void Server::on_accept() {
  for (int i = 0; i < kAcceptBatch && listening_; ++i) {
    sockaddr_storage peer{};
    long fd = accept_nonblocking(listener_.get(), &peer);
    if (fd == -EAGAIN) return;
    if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
      log_line("accept: %s; pausing accepts for %lld ms", strerror(int(-fd)),
               (long long)kAcceptPauseMs);
      return pause_accepting(mono_ms());
    }
    if (fd < 0) continue;  // the client gave up already (ECONNABORTED, EPROTO...)
    if (size_t(fd) >= conns_.capacity()) {
      refuse_connection(int(fd));
      continue;
    }
    if (size_t(fd) >= conns_.size()) conns_.resize(size_t(fd) + 1);  // within capacity: no move
    IpKey ip = ip_key(peer, 64);
    if (!config_.trusted_proxies.empty() && in_any(config_.trusted_proxies, ip_key(peer, 128))) {
      // A proxy's connections are counted per client once the request head
      // names it (attribute_client); until then only --max-conn applies.
      if (metrics_.connections_open >= config_.max_conn) {
        refuse_connection(int(fd));
        continue;
      }
      open_connection(int(fd), ip, true);
      continue;
    }
    uint32_t& from_ip = per_ip_[ip_key_hash(ip)];
    if (metrics_.connections_open >= config_.max_conn || from_ip >= config_.max_conn_per_ip) {
      if (from_ip == 0) per_ip_.erase(ip_key_hash(ip));
      refuse_connection(int(fd));
      continue;
    }
    ++from_ip;
    open_connection(int(fd), ip, false);
  }
}

// Over a limit the connection never enters the loop's state: it is answered
// with a 503 if its request is already readable, then closed.
void Server::refuse_connection(int fd) {
  ++metrics_.connections_refused;
  char scratch[512];
  if (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0) {
    ssize_t ignored =
        send(fd, kBusyResponse, sizeof kBusyResponse - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
  }
  close(fd);
}

void Server::open_connection(int fd, const IpKey& ip, bool via_proxy) {
  Connection& c = slot(uint32_t(fd));
  c.fd = fd;
  c.phase = Phase::http;
  c.ip = ip;
  c.ip_counted = !via_proxy;
  c.via_proxy = via_proxy;
  c.reading = true;
  c.interest = EPOLLIN | EPOLLRDHUP;
  set_nodelay(fd);
  if (long r = loop_.add(fd, c.interest, token_of(c)); r < 0) {
    log_line("epoll_ctl add: %s", strerror(int(-r)));
    c.phase = Phase::closing;
    schedule_free(c);
    return;
  }
  ++metrics_.connections_open;
  ++metrics_.connections_accepted;
  timeouts_.arm(uint32_t(fd), kHeadLane, mono_ms());
}

void Server::pause_accepting(int64_t now) {
  if (listening_) loop_.remove(listener_.get());
  listening_ = false;
  accept_resume_ = now + kAcceptPauseMs;
}

void Server::on_signal() {
  int sig = read_signal(signals_.get());
  if (sig <= 0 || stopping_) return;
  log_line("%s received: closing %llu connections", sig == SIGINT ? "SIGINT" : "SIGTERM",
           (unsigned long long)metrics_.connections_open);
  begin_shutdown();
}

// Stop accepting, answer requests still in their head with 503, send 1001 to
// every WebSocket, then let the loop flush until all are closed or the grace
// period ends. Leave events are not broadcast while stopping: everyone is
// leaving at once, and n leaves to n members would be n^2 frames.
void Server::begin_shutdown() {
  stopping_ = true;
  int64_t now = mono_ms();
  stop_deadline_ = now + config_.shutdown_grace_ms;
  if (listening_) loop_.remove(listener_.get());
  listening_ = false;
  accept_resume_ = -1;
  listener_.reset();
  BlockRef going_away = make_close_frame(1001, "server shutting down");
  for (Connection& c : conns_) {
    if (c.phase == Phase::http) {
      if (!c.out.empty()) {
        close_after_response(c);  // a response is still going out
      } else if (c.in.readable() > 0) {
        enqueue(c, make_error_response(503, false, false));
        close_after_response(c);
      } else {
        schedule_free(c);
      }
    } else if (c.phase == Phase::websocket) {
      end_chat(c);  // stored, not sent: see deliver()
      send_direct(c, going_away);
      c.phase = Phase::closing;
      --metrics_.websockets_open;
      timeouts_.arm(uint32_t(c.fd), kClosingLane, now);
    }
  }
  // One farewell for the whole node: every member's leave in each room and
  // the nicks freed, in one step on Redis (the per-connection leaves were
  // not sent, see cluster_submit).
  if (broker_) (void)broker_->bye();
}

void Server::run_timeouts(int64_t now) {
  if (accept_resume_ >= 0 && now >= accept_resume_ && !stopping_) {
    accept_resume_ = -1;
    listening_ = loop_.add(listener_.get(), EPOLLIN, kListenerToken) == 0;
  }
  uint32_t fd;
  uint8_t lane;
  while (timeouts_.pop_expired(now, fd, lane)) {
    Connection& c = slot(fd);
    switch (lane) {
      case kHeadLane:  // no complete request head in time (or an idle keep-alive)
        schedule_free(c);
        break;
      case kIdleLane:  // silent for the ping interval: ask for a sign of life
        enqueue(c, ping_frame_);
        timeouts_.arm(fd, kPingLane, now);
        break;
      case kPingLane:  // silent past the idle timeout
        close_websocket(c, 1001, "idle timeout");
        break;
      case kClosingLane:  // the peer never finished reading or never closed
        schedule_free(c);
        break;
    }
  }
}

int Server::wait_timeout(int64_t now) const {
  int t = timeouts_.timeout_ms(now);
  auto earlier = [&](int64_t deadline) {
    int64_t d = std::max<int64_t>(0, deadline - now);
    if (t < 0 || d < t) t = int(d);
  };
  if (accept_resume_ >= 0) earlier(accept_resume_);
  // Events the store refused wait for it to accept writes again; retention
  // with more to delete goes on soon, a step per turn.
  if ((!batch_.empty() && !committing_) || !retry_leaves_.empty()) earlier(now + kStoreRetryMs);
  if (prune_due_) earlier(now + kPruneStepMs);
  if (stopping_) earlier(stop_deadline_);
  if (broker_ && broker_->next_deadline_ms() >= 0) earlier(broker_->next_deadline_ms());
  return t;
}

void Server::schedule_free(Connection& c) {
  if (c.free_queued) return;
  c.free_queued = true;
  to_free_.push_back(uint32_t(c.fd));
}

void Server::free_queued() {
  // Freeing never queues more frees, but a leave event may mark others dirty:
  // they flush on the next turn, which starts at once (timeout 0).
  for (size_t i = 0; i < to_free_.size(); ++i) free_connection(slot(to_free_[i]));
  to_free_.clear();
}

void Server::free_connection(Connection& c) {
  if (c.phase == Phase::websocket) end_chat(c), --metrics_.websockets_open;
  if (c.ip_counted) {
    auto it = per_ip_.find(ip_key_hash(c.ip));
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  }
  timeouts_.disarm(uint32_t(c.fd));
  close(c.fd);  // also removes it from the epoll set
  --metrics_.connections_open;
  uint32_t generation = c.generation + 1;
  int fd = c.fd;
  c.in.release(input_pool_);
  c = Connection{};
  c.fd = fd;
  c.generation = generation;
}

}  // namespace chatd
