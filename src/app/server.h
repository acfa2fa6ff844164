// Server: owns the event loop, the listener, the connection table, the chat
// engine and the event store, and moves bytes between them. The path of one
// chat message:
//
//   on_readable -> read into the connection's ring -> handle_websocket:
//   WsReader::next yields the text in place -> ChatEngine::on_text checks it
//   and proposes an event -> submit(): numbered (sequencer), appended to the
//   store's batch and to the turn's batch -> finish_turn(), before the flush:
//   the store commits the turn, then each event is applied to its room
//   (ChatEngine::apply encodes it once into one framed block) and fanned out:
//   one reference pushed to every member's OutputQueue -> flush_dirty():
//   one writev per dirty connection; EPOLLOUT only after a short write; a
//   queue over --max-backlog is closed with 1008 after the fan-out.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/config.h"
#include "app/connection.h"
#include "app/metrics.h"
#include "app/sequencer.h"
#include "app/store_history.h"
#include "app/turn_batch.h"
#include "base/fd.h"
#include "chat/engine.h"
#include "chat/errors.h"
#include "cluster/broker.h"
#include "http/handshake.h"
#include "http/static_files.h"
#include "net/event_loop.h"
#include "net/input_ring.h"
#include "net/timeouts.h"
#include "store/event_store.h"
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
  Server(const Config& config, std::unique_ptr<EventStore> store);

  // Timeout lanes, one duration each (net/timeouts.h).
  enum Lane : uint8_t { kHeadLane, kIdleLane, kPingLane, kClosingLane };

  // server.cc: the loop, accepting, timers, shutdown, freeing.
  void dispatch(const epoll_event& ev);
  void drain_store(epoll_event* events, int max_events);
  void on_accept();
  void open_connection(int fd, const IpKey& ip, bool via_proxy);
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
  void enqueue_run(Connection& c, std::span<const BlockRef> blocks);
  // Queues the pieces of one message (a history answer) as one unit.
  void enqueue_message(Connection& c, std::span<const BlockSlice> pieces);
  // After a push: mark c dirty, note a backlog over its limit, pause an
  // HTTP reader whose responses pile up.
  void queued(Connection& c);
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
  // Behind a trusted proxy: counts the connection under the client named by
  // X-Forwarded-For (server_proxy.cc); false if that client is over
  // --max-conn-per-ip (a 503 is queued and the connection closes).
  bool attribute_client(Connection& c, const Request& req);

  // server_ws.cc: frames in, closing.
  void handle_websocket(Connection& c);
  void close_websocket(Connection& c, uint16_t code, std::string_view reason);
  void read_close_reply(Connection& c);

  // server_chat.cc: chat requests, numbering, the turn's commit, fan-out.
  void load_rooms();
  void handle_text(Connection& c, const uint8_t* data, size_t len);
  void submit(const Proposal& p, Connection* origin);
  void send_direct(Connection& c, BlockRef frame);
  void send_direct(Connection& c, std::span<const BlockSlice> message);
  void end_chat(Connection& c);
  void finish_turn();
  void commit_turn();
  void on_commits_done();
  void note_commit(bool stored, const std::string& error);
  void delivered(TurnBatch& batch, bool stored);
  void deliver(const TurnBatch::Item& item, bool stored);
  // Sends what applying e produced: the welcome and replay to its joiner c,
  // the event to every member (a msg joins the current run).
  void send_applied(const NumberedEvent& e, Connection* c, Applied& a);
  void send_welcome(Connection& c, Applied& a);
  void fan_out(const Room& room, std::span<const BlockRef> events);
  void add_to_run(const Room& room, BlockRef event);
  void fan_out_run();
  void settle_overflows();
  Connection* target(TurnBatch::Target t);
  TurnBatch::Target target_of(const Connection& c) const { return {uint32_t(c.fd), c.generation}; }
  void update_chat_gauges();

  // server_cluster.cc: several nodes through the Redis broker.
  struct PendingEvent {
    // waiting: for its room to catch up (or for a resume's read ahead of it);
    // reading: a resume's oldest events are being read from the room's log.
    enum class State : uint8_t { waiting, reading, sent, uncertain };
    Room* room = nullptr;  // held: the proposal counts in room->in_flight
    EventKind kind = EventKind::msg;
    MemberId member = kNoMember;
    std::string nick, text, epoch, ref;  // the proposal's views, copied
    JoinAsk ask;                         // its views are the strings above
    TurnBatch::Target target;
    State state = State::waiting;
    bool owed = false;  // a leave of an ending connection: kept until Redis takes it
    uint8_t attempts = 0;
    std::vector<BlockRef> prefix;  // a resume's events older than the ring (JoinAsk::prefix)
    uint64_t prefix_first = 0;
    uint64_t numbered = 0;  // its id, once Redis answered (in the room's epoch then)
  };
  struct RoomsAsk {
    TurnBatch::Target target;
    std::string ref;
  };
  struct PageAsk {
    TurnBatch::Target target;
    std::string room, epoch, ref;
    uint64_t before = 0;
  };
  static bool is_broker_token(uint64_t token);
  void start_broker();
  void after_broker();
  void cluster_submit(const Proposal& p, Connection* origin, bool owed);
  void publish_pending(uint64_t cookie, PendingEvent& pe);
  // A resume whose oldest missed events are no longer in the ring reads them
  // first; false when none need reading.
  bool read_resume_prefix(uint64_t cookie, PendingEvent& pe);
  void on_resume_prefix(uint64_t cookie, std::span<const FeedEvent> events, bool ok);
  void publish_waiting(std::string_view room);
  void fail_pending(uint64_t cookie, std::optional<ChatError> error);
  void on_broker_published(uint64_t cookie, PublishStatus st, uint64_t id);
  void on_broker_live(std::string_view room);
  void on_broker_event(std::string_view room, const FeedEvent& e);
  void on_broker_synced(const RoomSnapshot& s);
  static bool numbered_before(const PendingEvent& pe, const RoomSnapshot& s, bool same_epoch);
  void restart_members(Room& room, std::span<const MemberId> dropped);
  void settle_pending(Room& room, const RoomSnapshot& s, bool same_epoch);
  static bool is_own_event(const PendingEvent& pe, const FeedEvent& e);
  void admit(uint64_t cookie, PendingEvent& pe);
  static JoinAsk ask_of(const PendingEvent& pe);
  void list_rooms(Connection& c, std::string_view ref);
  void read_page(Connection& c, const Outcome& out);
  void on_broker_page(uint64_t cookie, std::string_view epoch, uint64_t oldest,
                      std::span<const FeedEvent> events, bool ok);
  void on_broker_rooms(uint64_t cookie, std::span<const ListedRoom> rooms, bool ok);
  void release_nick(const std::string& nick, MemberId id);
  void on_broker_health(bool up);
  void on_broker_reaped();

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
  std::unique_ptr<EventStore> store_;
  StoreHistory history_;
  ChatEngine engine_;
  LocalSequencer sequencer_;
  TurnBatch batch_;      // this turn's events and the replies behind them
  TurnBatch in_flight_;  // --fsync: the batch the writer thread is committing
  bool committing_ = false;
  std::vector<BatchDone> commits_done_;  // scratch for on_commits_done
  bool prune_due_ = false;               // retention has more to delete
  std::vector<Proposal> leaving_;        // scratch for end_chat
  // Leave events of connections already gone whose commit failed: numbered
  // again at the next turn, so every member still leaves exactly once.
  std::vector<std::pair<Room*, Member>> retry_leaves_;
  bool store_ok_ = true;  // the last commit succeeded (/healthz)
  Metrics metrics_;
  std::unordered_map<uint64_t, uint32_t> per_ip_;  // ip_key_hash -> open connections

  std::vector<uint32_t> dirty_;       // connections with output to flush this turn
  std::vector<uint32_t> to_free_;     // connections to close at the end of the turn
  std::vector<uint32_t> overflowed_;  // members over --max-backlog after a fan-out
  // Consecutive msg events of one room in a delivered batch, fanned out
  // member by member (see add_to_run); capacity kept between turns.
  const Room* run_room_ = nullptr;
  std::vector<BlockRef> run_;
  BlockRef ping_frame_;         // shared: every idle ping is the same bytes
  FlushScratch flush_scratch_;  // shared by every flush: small frames copied into one run

  // Several nodes (--redis): the broker, and the proposals waiting for it in
  // the order they were made (cookie order).
  std::unique_ptr<Broker> broker_;
  std::map<uint64_t, PendingEvent> pending_;
  std::unordered_map<uint64_t, RoomsAsk> rooms_asks_;
  std::unordered_map<uint64_t, PageAsk> page_asks_;
  std::unordered_map<uint64_t, uint64_t> prefix_asks_;  // page cookie -> pending cookie
  uint64_t next_cookie_ = 1;
  std::vector<std::pair<std::string, MemberId>> owed_releases_;  // nicks to free when Redis is back
  std::vector<std::string> freed_rooms_;                         // scratch for after_broker
  std::vector<uint64_t> live_cookies_;                           // scratch for on_broker_live
  std::vector<ChatEngine::SyncedMember> synced_;                 // scratch for on_broker_synced
  std::vector<PastEvent> past_;                                  // scratch for on_broker_synced
  std::vector<MemberId> joining_, admitted_;                     // scratch for on_broker_synced
  std::vector<std::pair<uint64_t, uint64_t>> ran_;               // scratch: (cookie, id) settled
  std::vector<BlockRef> page_blocks_;                            // scratch for on_broker_page
  std::vector<BlockSlice> page_answer_;                          // scratch for on_broker_page

  bool heap_settling_ = false;  // activity since the last malloc_trim
  bool stopping_ = false;
  int64_t stop_deadline_ = 0;
};

}  // namespace chatd
