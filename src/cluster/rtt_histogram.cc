#include "cluster/rtt_histogram.h"

#include <cstdio>

namespace chatd {

void append_prometheus_histogram(std::string& out, std::string_view name, std::string_view help,
                                 const RttHistogram& h) {
  std::string n(name);
  out += "# HELP " + n + " " + std::string(help) + "\n# TYPE " + n + " histogram\n";
  uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i < RttHistogram::kBoundsUs.size(); ++i) {
    cumulative += h.buckets[i];
    std::snprintf(le, sizeof le, "%g", RttHistogram::kBoundsUs[i] / 1e6);
    out += n + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += h.buckets.back();
  out += n + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  char sum[32];
  std::snprintf(sum, sizeof sum, "%.6f", h.sum_us / 1e6);
  out += n + "_sum " + sum + "\n" + n + "_count " + std::to_string(h.count) + "\n";
}

}  // namespace chatd
