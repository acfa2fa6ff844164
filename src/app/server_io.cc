// Moving bytes: reads into a connection's ring, writev of its queue, and the
// epoll interest that follows from both.
#include <sys/socket.h>

#include <cassert>

#include "app/server.h"
#include "base/clock.h"
#include "net/socket.h"
#include "ws/encoder.h"

namespace chatd {

namespace {

// Bytes read from one connection per wakeup, so one busy client cannot
// starve the rest (Redis' NET_MAX_WRITES_PER_EVENT idea, for reads).
constexpr size_t kReadBudget = 256 * 1024;
// Bytes written to one connection per flush; the rest waits for the next turn.
constexpr size_t kWriteBudget = 1024 * 1024;
// An HTTP client that pipelines requests without reading the answers stops
// being read once this much output waits for it.
constexpr size_t kHttpOutputPause = 1024 * 1024;

}  // namespace

void Server::on_readable(Connection& c) {
  if (c.phase == Phase::closing) {
    return c.awaiting_close ? read_close_reply(c) : discard_input(c);
  }
  size_t budget = kReadBudget;
  while (budget > 0 && (c.phase == Phase::http || c.phase == Phase::websocket) && c.reading) {
    // The ring needs room for the rest of the current frame or head; the
    // parsers fail a frame or head over its limit before the cap is reached.
    size_t cap = std::max(config_.max_message, size_t{kMaxHeadBytes}) + kMaxClientFrameHeader;
    if (!c.in.reserve(1, cap, input_pool_)) {
      connection_lost(c);
      return;
    }
    size_t room = c.in.writable();
    long n = read_some(c.fd, c.in.write_ptr(), room);
    if (n == -EAGAIN) break;
    if (n <= 0) {
      // EOF or a reset. What was complete before it is handled already; an
      // HTTP client that half-closed still gets the answers queued for it.
      c.peer_eof = true;
      if (c.phase == Phase::http && !c.out.empty()) {
        close_after_response(c);
      } else {
        connection_lost(c);
      }
      return;
    }
    c.in.produced(size_t(n));
    budget -= std::min(budget, size_t(n));
    if (c.phase == Phase::websocket) timeouts_.arm(uint32_t(c.fd), kIdleLane, mono_ms());
    process_input(c);
    if (size_t(n) < room) break;  // the socket is drained: skip the read that says EAGAIN
  }
  if (c.phase != Phase::free) c.in.release_if_empty(input_pool_);
}

void Server::process_input(Connection& c) {
  if (c.phase == Phase::http) handle_http(c);
  if (c.phase == Phase::websocket) handle_websocket(c);
}

// A closing connection's input is read and dropped until the peer's EOF: our
// last bytes (close frame, error page) then reach it before our FIN, not
// after a reset caused by unread input.
void Server::discard_input(Connection& c) {
  char scratch[16 * 1024];
  for (int i = 0; i < 16; ++i) {
    long n = read_some(c.fd, scratch, sizeof scratch);
    if (n == -EAGAIN) return;
    if (n <= 0) {
      c.peer_eof = true;
      schedule_free(c);
      return;
    }
  }
}

void Server::on_writable(Connection& c) {
  flush(c);
  if (c.phase == Phase::http && !c.reading && c.out.bytes() < kHttpOutputPause / 2) {
    c.reading = true;
    update_interest(c);
    handle_http(c);  // requests that arrived while paused
  }
}

void Server::enqueue(Connection& c, BlockRef block) {
  assert(c.phase != Phase::free && "a freed slot's queue must stay empty for its next connection");
  ++metrics_.frames_written;
  c.out.push(std::move(block));
  queued(c);
}

// All the pieces in one push: nothing queued for c can come between the
// frames of a fragmented message (RFC 6455 section 5.4 allows only control
// frames there, and the queue is FIFO).
void Server::enqueue_message(Connection& c, std::span<const BlockSlice> pieces) {
  assert(c.phase != Phase::free && "a freed slot's queue must stay empty for its next connection");
  ++metrics_.frames_written;  // a fragmented message counts once
  c.out.push_message(pieces);
  queued(c);
}

void Server::queued(Connection& c) {
  mark_dirty(c);
  if (c.phase == Phase::websocket && c.out.bytes() > config_.max_backlog && !c.over_backlog) {
    c.over_backlog = true;
    overflowed_.push_back(uint32_t(c.fd));
  }
  if (c.phase == Phase::http && c.out.bytes() > kHttpOutputPause && c.reading) {
    c.reading = false;
    update_interest(c);
  }
}

// enqueue() of each block in turn, the checks done once for them all.
void Server::enqueue_run(Connection& c, std::span<const BlockRef> blocks) {
  assert(c.phase != Phase::free && "a freed slot's queue must stay empty for its next connection");
  metrics_.frames_written += blocks.size();
  for (const BlockRef& b : blocks) c.out.push(b);
  queued(c);
}

void Server::flush_dirty() {
  // Flushing marks nothing new dirty but a connection whose budget ran out,
  // which goes back on the list for the next turn.
  std::vector<uint32_t> batch;
  batch.swap(dirty_);
  for (uint32_t fd : batch) {
    Connection& c = slot(fd);
    c.dirty = false;
    if (c.phase == Phase::free || c.free_queued || c.write_armed)
      continue;  // armed: EPOLLOUT flushes
    flush(c);
  }
  batch.clear();
  if (dirty_.empty()) dirty_.swap(batch);  // keep the capacity: no allocation per turn
}

// Drained queues keep their entry arrays while the server is busy, so a
// member of a busy room does not malloc every turn; once the loop is quiet
// they are given back, so memory at rest is what it was before the traffic.
void Server::release_spare_output() {
  for (Connection& c : conns_) c.out.release_spare();
}

void Server::mark_dirty(Connection& c) {
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(uint32_t(c.fd));
}

// Writes what the queue holds; EPOLLOUT is armed only while the socket is
// full, and a closing connection sends its FIN once everything is out.
void Server::flush(Connection& c) {
  bool full = false;
  if (!c.out.empty()) {
    FlushResult r = c.out.flush(c.fd, kWriteBudget, &flush_scratch_);
    metrics_.bytes_written += r.written;
    c.http_unsent -= std::min(c.http_unsent, r.written);
    if (r.error) {
      c.out.clear();
      connection_lost(c);
      return;
    }
    full = r.would_block;
    if (!full && !c.out.empty()) mark_dirty(c);  // budget spent: continue next turn
  }
  if (full != c.write_armed) {
    c.write_armed = full;
    update_interest(c);
  }
  if (c.out.empty() && c.phase == Phase::closing && !c.shut_wr) {
    c.shut_wr = true;
    shutdown(c.fd, SHUT_WR);
    // The close handshake is complete once our echo is out: close now.
    if (c.peer_eof || c.close_received) schedule_free(c);
  }
}

void Server::update_interest(Connection& c) {
  uint32_t want = 0;
  if (c.reading && !c.peer_eof) want |= EPOLLIN | EPOLLRDHUP;
  if (c.write_armed) want |= EPOLLOUT;
  if (want == c.interest) return;
  c.interest = want;
  loop_.modify(c.fd, want, token_of(c));
}

// The connection is gone (EOF, reset, write error): free it at the end of the
// turn; its leave event goes out then.
void Server::connection_lost(Connection& c) {
  c.reading = false;
  update_interest(c);
  schedule_free(c);
}

}  // namespace chatd
