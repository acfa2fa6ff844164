#include "app/cluster_metrics.h"

#include "app/metrics.h"

namespace chatd {

void append_cluster_metrics(std::string& out, const Broker& b, size_t pending) {
  const BrokerStats& s = b.stats();
  const RedisClientStats& cmd = b.commands().stats();
  const RedisClientStats& sub = b.subscriptions().stats();
  append_metric(out, "cluster_up", "gauge", "1 when this node can serve chat through Redis.",
                b.ready() ? 1 : 0);
  append_metric(out, "cluster_nodes", "gauge", "Live nodes, as of this node's last heartbeat.",
                s.nodes);
  append_metric(out, "cluster_events_in_total", "counter",
                "Events received from Redis and applied.", s.events_in);
  append_metric(out, "cluster_events_out_total", "counter", "Events this node had Redis number.",
                s.events_out);
  append_metric(out, "cluster_gaps_filled_total", "counter",
                "Gaps on a room's subscription filled from its log.", s.gaps_filled);
  append_metric(
      out, "cluster_snapshots_total", "counter",
      "Rooms this node took whole from Redis (it began to follow them, or they restarted).",
      s.snapshots);
  append_metric(out, "cluster_room_resets_total", "counter",
                "Rooms whose history Redis lost, started again under a new epoch.", s.resets);
  append_metric(out, "cluster_nodes_reaped_total", "counter", "Dead nodes this node reaped.",
                s.reaped_nodes);
  append_metric(out, "cluster_pending_proposals", "gauge", "Proposals waiting for Redis.", pending);
  append_metric(out, "redis_reconnects_total", "counter", "Connections to Redis that became ready.",
                cmd.connects + sub.connects);
  append_metric(out, "redis_connect_failures_total", "counter", "Connection attempts that failed.",
                cmd.connect_failures + sub.connect_failures);
  append_metric(out, "redis_disconnects_total", "counter", "Ready connections to Redis lost.",
                cmd.disconnects + sub.disconnects);
  append_metric(out, "redis_refused_total", "counter",
                "Commands not sent: Redis not ready or too many in flight.",
                cmd.refused_not_ready + cmd.refused_full);
  append_prometheus_histogram(out, "chatd_redis_round_trip_seconds",
                              "Redis command round trips (commands connection).", cmd.rtt);
}

}  // namespace chatd
