// The WebSocket phase: frames out of the ring, chat messages into the engine,
// and every resulting event fanned out as one shared block.
#include "app/server.h"
#include "base/clock.h"
#include "net/socket.h"
#include "ws/encoder.h"

namespace chatd {

void Server::handle_websocket(Connection& c) {
  while (c.phase == Phase::websocket) {
    WsEvent ev = c.ws.next(c.in.read_ptr(), c.in.readable());
    switch (ev.type) {
      case WsEventType::need_more:
        // Fragments already copied into the reader count as consumed.
        c.in.consume(ev.consumed);
        return;
      case WsEventType::text:
        handle_text(c, ev.data, ev.len);
        c.in.consume(ev.consumed);
        break;
      case WsEventType::ping:  // control frames may pass the batch: they are not data
        enqueue(c, make_pong({reinterpret_cast<const char*>(ev.data), ev.len}));
        c.in.consume(ev.consumed);
        break;
      case WsEventType::pong:  // only proves liveness, which the read did already
        c.in.consume(ev.consumed);
        break;
      case WsEventType::close:
        c.in.consume(ev.consumed);
        c.close_received = true;
        close_websocket(c, ev.close_code, {});
        return;
      case WsEventType::fail:
        ++metrics_.protocol_errors;
        close_websocket(c, ev.close_code, {});
        return;
    }
  }
}

// Ends the WebSocket phase with a close frame: the member leaves now, so its
// leave events go out in order with the events before them; the frame
// follows everything already queued or batched for it, except for a slow
// consumer, whose backlog is dropped (blocks not yet started) so the close
// frame can reach it - unless its 101 is still queued: frames without the
// handshake would be garbage, so then the (bounded) backlog goes out first.
void Server::close_websocket(Connection& c, uint16_t code, std::string_view reason) {
  if (c.phase != Phase::websocket) return;
  c.phase = Phase::closing;
  --metrics_.websockets_open;
  end_chat(c);
  if (code == 1008 && c.http_unsent == 0) c.out.drop_unstarted();
  send_direct(c, make_close_frame(code, reason));
  // A reader that failed is finished: the peer broke the protocol, so its
  // bytes are only drained. Otherwise its close reply is watched for.
  c.awaiting_close = !c.close_received && !c.ws.finished();
  if (!c.awaiting_close) c.ws.release_memory();
  timeouts_.arm(uint32_t(c.fd), kClosingLane, mono_ms());
}

// After our close frame, RFC 6455 section 7.1.1: once the peer's close
// arrives the handshake is complete and the TCP connection is closed at once.
// Data frames still in flight are read and dropped on the way.
void Server::read_close_reply(Connection& c) {
  size_t cap = std::max(config_.max_message, size_t{kMaxHeadBytes}) + kMaxClientFrameHeader;
  for (int i = 0; i < 16; ++i) {
    if (!c.in.reserve(1, cap, input_pool_)) return schedule_free(c);
    long n = read_some(c.fd, c.in.write_ptr(), c.in.writable());
    if (n == -EAGAIN) break;
    if (n <= 0) {
      c.peer_eof = true;
      return schedule_free(c);
    }
    c.in.produced(size_t(n));
    for (;;) {
      WsEvent ev = c.ws.next(c.in.read_ptr(), c.in.readable());
      c.in.consume(ev.consumed);
      if (ev.type == WsEventType::need_more) break;
      if (ev.type == WsEventType::close || ev.type == WsEventType::fail) return schedule_free(c);
    }
  }
  c.in.release_if_empty(input_pool_);
}

}  // namespace chatd
