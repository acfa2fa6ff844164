// Server: owns the event loop, the listener, the connection table and the
// chat engine, and moves bytes between them. The path of one chat message:
//
//   on_readable -> read into the connection's ring -> handle_websocket:
//   WsReader::next yields the text in place -> ChatEngine::on_text returns
//   one framed event block -> deliver(): one reference pushed to every
//   member's OutputQueue, the member marked dirty -> flush_dirty() before
//   epoll_wait: one writev per dirty connection; EPOLLOUT only after a short
//   write; a queue over --max-backlog is closed with 1008 after the fan-out.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/config.h"
#include "app/connection.h"
#include "app/metrics.h"
#include "base/fd.h"
#include "chat/engine.h"
#include "http/handshake.h"
#include "http/static_files.h"
#include "net/event_loop.h"
#include "net/input_ring.h"
#include "net/timeouts.h"
#include "ws/reader.h"

namespace chatd {

class Server {
 public:
  // Binds the listener and prepares every part. Returns null and sets
  // `error` to one line when it cannot (port in use, bad host, static dir).
  static std::unique_ptr<Server> create(const Config& config, std::string& error);

  // Serves until SIGINT/SIGTERM, then drains; returns the process exit code.
  int run();

  uint16_t port() const { return port_; }

 private:
  explicit Server(const Config& config);

  // Timeout lanes, one duration each (net/timeouts.h).
  enum Lane : uint8_t { kHeadLane, kIdleLane, kPingLane, kClosingLane };

  // server.cc: the loop, accepting, timers, shutdown, freeing.
  void dispatch(const epoll_event& ev);
  void on_accept();
  void open_connection(int fd, const IpKey& ip);
  void refuse_connection(int fd);
  void pause_accepting(int64_t now);
  void on_signal();
  void begin_shutdown();
  void run_timeouts(int64_t now);
  void schedule_free(Connection& c);
  void free_queued();
  void free_connection(Connection& c);
  int wait_timeout(int64_t now) const;

  // server_io.cc: reading, flushing, epoll interest.
  void on_readable(Connection& c);
  void on_writable(Connection& c);
  void discard_input(Connection& c);
  void process_input(Connection& c);
  void enqueue(Connection& c, BlockRef block);
  void mark_dirty(Connection& c);
  void flush(Connection& c);
  void flush_dirty();
  void release_spare_output();
  void update_interest(Connection& c);
  void connection_lost(Connection& c);

  // server_http.cc: request heads, routing, the upgrade.
  void handle_http(Connection& c);
  void upgrade(Connection& c, const Request& req);
  void close_after_response(Connection& c);

  // server_ws.cc: frames in, chat, fan-out, closing.
  void handle_websocket(Connection& c);
  void deliver(Connection& sender, Outcome&& outcome);
  void broadcast(const BlockRef& event);
  void settle_overflows();
  void leave_room(Connection& c);
  void close_websocket(Connection& c, uint16_t code, std::string_view reason);
  void read_close_reply(Connection& c);

  Connection& slot(uint32_t fd) { return conns_[fd]; }
  uint64_t token_of(const Connection& c) const {
    return (uint64_t(c.generation) << 32) | uint32_t(c.fd);
  }

  Config config_;
  ReaderLimits reader_limits_;
  OriginPolicy origins_;
  StaticFiles static_files_;
  EventLoop loop_;
  UniqueFd listener_;
  UniqueFd signals_;
  uint16_t port_ = 0;
  bool listening_ = false;      // the listener is in the epoll set
  int64_t accept_resume_ = -1;  // when accepting resumes after EMFILE, or -1

  std::vector<Connection> conns_;  // indexed by fd
  Timeouts timeouts_;
  InputPool input_pool_;
  ChatEngine engine_;
  Metrics metrics_;
  std::unordered_map<uint64_t, uint32_t> per_ip_;  // ip_key_hash -> open connections

  std::vector<uint32_t> dirty_;       // connections with output to flush this turn
  std::vector<uint32_t> to_free_;     // connections to close at the end of the turn
  std::vector<uint32_t> overflowed_;  // members over --max-backlog after a fan-out
  BlockRef ping_frame_;               // shared: every idle ping is the same bytes
  FlushScratch flush_scratch_;        // shared by every flush: small frames copied into one run

  bool heap_settling_ = false;  // activity since the last malloc_trim
  bool stopping_ = false;
  int64_t stop_deadline_ = 0;
};

}  // namespace chatd
