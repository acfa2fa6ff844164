// The broker's part of GET /metrics (several nodes, --redis): Redis health
// and round trips, reconnects, events in and out through Redis, gaps
// filled, nodes. Rendered on request from the broker's plain counters.
#pragma once

#include <string>

#include "cluster/broker.h"

namespace chatd {

// Appends the broker's metrics in the Prometheus text format.
void append_cluster_metrics(std::string& out, const Broker& broker, size_t pending);

}  // namespace chatd
