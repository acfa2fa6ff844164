// Connection: the state of one TCP connection, stored in the Server's table
// at index fd. It owns its input ring, output queue, WebSocket reader and chat
// session; the fd itself is closed by the Server (free_connection) at the end
// of a loop turn, never in the middle of one (STYLE.md habit 6).
#pragma once

#include <cstdint>

#include "chat/engine.h"
#include "http/request.h"
#include "net/input_ring.h"
#include "net/output_queue.h"
#include "net/socket.h"
#include "ws/reader.h"

namespace chatd {

// http: reading request heads (keep-alive); websocket: after a 101;
// closing: our last bytes are queued, input is read and discarded until the
// peer's EOF or the closing deadline (a lingering close, so the peer reads
// our close frame or error response instead of a reset).
enum class Phase : uint8_t { free, http, websocket, closing };

struct Connection {
  int fd = -1;
  uint32_t generation = 0;  // bumped when the slot is freed: stale epoll tokens miss
  Phase phase = Phase::free;
  bool dirty = false;           // listed in Server::dirty_, flushed before sleeping
  bool write_armed = false;     // EPOLLOUT requested after a short write
  bool reading = true;          // EPOLLIN requested
  bool free_queued = false;     // listed in Server::to_free_
  bool over_backlog = false;    // listed in Server::overflowed_
  bool peer_eof = false;        // the peer sent FIN: close once our output is out
  bool shut_wr = false;         // our FIN is sent (closing phase)
  bool close_received = false;  // the peer's close frame arrived: the handshake is complete
  bool awaiting_close = false;  // we sent a close frame first: the peer's reply ends it
  // Entries of the turn's batch caused by or addressed to this connection:
  // while above 0, its replies join the batch so they keep their order.
  uint32_t batched = 0;
  uint32_t interest = 0;  // the epoll mask currently registered
  // Unsent bytes of HTTP output (the 101 and any response before it) ahead
  // of the frames: a slow consumer's backlog is dropped only behind them.
  size_t http_unsent = 0;
  HeadScan scan;
  IpKey ip{};               // the address counted for --max-conn-per-ip
  bool ip_counted = false;  // counted in Server::per_ip_ under `ip`
  bool via_proxy = false;   // the peer is a --trusted-proxy: `ip` comes from X-Forwarded-For
  InputRing in;
  OutputQueue out;
  WsReader ws{nullptr};  // armed with the limits at the upgrade
  Session session;
};

}  // namespace chatd
