// The HTTP phase: request heads out of the ring, one response each, and the
// upgrade that hands the rest of the ring to the WebSocket phase.
#include "app/cluster_metrics.h"
#include "app/server.h"
#include "base/clock.h"
#include "http/handshake.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"

namespace chatd {

void Server::handle_http(Connection& c) {
  while (c.phase == Phase::http && c.reading && c.in.readable() > 0) {
    Request req;
    const char* head = reinterpret_cast<const char*>(c.in.read_ptr());
    ParseResult r = parse_request(head, c.in.readable(), c.scan, req);
    if (r.status == ParseStatus::incomplete) return;
    if (r.status == ParseStatus::error) {
      ++metrics_.http_requests;
      enqueue(c, make_error_response(r.http_status, false, false));
      close_after_response(c);
      return;
    }
    ++metrics_.http_requests;
    if (c.via_proxy && !attribute_client(c, req)) return;
    bool head_only = req.method == "HEAD";
    bool keep = keep_alive(req) && !stopping_;
    Route rt = route(req);
    switch (rt.kind) {
      case RouteKind::websocket:
        upgrade(c, req);
        c.in.consume(r.head_len);  // the bytes behind it are the first frames
        return;
      case RouteKind::healthz:
        if (broker_ && !broker_->ready()) {
          std::string why = std::string(broker_->why_not_ready()) + "\n";
          enqueue(c, make_response(503, "text/plain; charset=utf-8", why, head_only, keep));
        } else if (store_ok_) {
          enqueue(c, make_response(200, "text/plain; charset=utf-8", "ok", head_only, keep));
        } else {
          enqueue(c, make_response(503, "text/plain; charset=utf-8", "store unavailable\n",
                                   head_only, keep));
        }
        break;
      case RouteKind::metrics: {
        update_chat_gauges();
        std::string text = render_metrics(metrics_, store_->stats());
        if (broker_) append_cluster_metrics(text, *broker_, pending_.size());
        enqueue(c, make_response(200, "text/plain; version=0.0.4; charset=utf-8", text, head_only,
                                 keep));
        break;
      }
      case RouteKind::static_file:
        enqueue(c, static_files_.serve(req, keep));
        break;
      case RouteKind::error:
        keep = keep && !status_forces_close(rt.status);
        enqueue(c, make_error_response(rt.status, head_only, keep));
        break;
    }
    c.in.consume(r.head_len);
    if (!keep) {
      close_after_response(c);
      return;
    }
    timeouts_.arm(uint32_t(c.fd), kHeadLane, mono_ms());  // the next head, same deadline
  }
}

void Server::upgrade(Connection& c, const Request& req) {
  UpgradeCheck check = check_upgrade(req, origins_);
  if (check.status != 101) {
    ++metrics_.rejected_handshakes;
    enqueue(c, make_error_response(check.status, false, false));
    close_after_response(c);
    return;
  }
  enqueue(c, make_switching_protocols(check.accept));
  c.http_unsent = c.out.bytes();
  c.phase = Phase::websocket;
  c.ws = WsReader(&reader_limits_);
  ++metrics_.websockets_open;
  timeouts_.arm(uint32_t(c.fd), kIdleLane, mono_ms());
}

// The answer is queued: stop handling requests, flush, send FIN, and drain
// the peer's input until it closes too (or the closing deadline passes).
void Server::close_after_response(Connection& c) {
  c.phase = Phase::closing;
  timeouts_.arm(uint32_t(c.fd), kClosingLane, mono_ms());
  if (!c.reading && !c.peer_eof) {
    c.reading = true;  // read (and drop) input again to see the peer's EOF
    update_interest(c);
  }
  mark_dirty(c);
}

}  // namespace chatd
