// The four runs the load generator knows. Each returns the process exit code:
// 0 when every check passed, 1 when the run finished but a check failed
// (gaps, duplicates, lost deliveries, errors, closes), 3 on a setup failure.
#pragma once

#include "options.h"

namespace chatd::load {

// C clients join, S send (closed loop with a window, or paced at a total
// rate) for D seconds; every client checks ids and records latencies.
int run_fanout(const Options& opt);

// N connections upgrade (and join, with --join) as fast as the in-progress
// cap allows, are held, and the server's memory per connection is reported.
int run_connect(const Options& opt);

// C clients come and go at random for D seconds: connect, join, send a few
// messages, leave by close frame, RST, FIN or after a read stall; every
// session's ids must be consecutive from its own join event on.
int run_churn(const Options& opt);

// C clients join (over --rooms), M drop abruptly, S messages per room are
// sent, the M come back with since and epoch; reports the time until all
// caught up and the replayed events, and checks that no id was skipped or
// repeated.
int run_resume(const Options& opt);

}  // namespace chatd::load
