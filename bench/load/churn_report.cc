#include <cstdio>
#include <string_view>

#include "churn_stats.h"
#include "report.h"

namespace chatd::load {

int print_churn_report(const Options& opt, const ChurnStats& s) {
  const double secs = double(s.t_stop - s.t0) / 1e6;
  const double all_secs = double(s.t_end - s.t0) / 1e6;
  const double cpu_pct = all_secs > 0 ? 100.0 * (s.cpu1 - s.cpu0) / all_secs : 0;
  const bool ok = s.observer_joined && !s.observer_lost && s.all_left && s.sessions_joined > 0 &&
                  s.gaps == 0 && s.duplicates == 0 && s.first_event_mismatch == 0 &&
                  s.order_mismatch == 0 && s.lost_acks == 0 && s.errors == 0 &&
                  s.protocol_surprises == 0 && s.setup_failures == 0 && s.setup_timeouts == 0 &&
                  s.close_timeouts == 0 && s.unexpected_closes == 0 && s.join_events_missing == 0 &&
                  s.leave_mismatch == 0;
  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (!opt.json_only) {
    std::printf("churn %s:%s: %u client slots, %.1f s, hold <= %g s, leave %s, seed %llu\n",
                opt.host.c_str(), port_list(opt).c_str(), opt.clients, secs, opt.hold_s,
                opt.leave.c_str(), u(opt.seed));
    std::printf("  sessions     %llu started, %llu joined (%.0f/s), peak %u joined at once\n",
                u(s.sessions_started), u(s.sessions_joined),
                secs > 0 ? double(s.sessions_joined) / secs : 0, s.joined_peak);
    std::printf("  leaves       close %llu (echoed %llu), rst %llu, fin %llu, stall %llu\n",
                u(s.leaves[0]), u(s.clean_closes), u(s.leaves[1]), u(s.leaves[2]), u(s.leaves[3]));
    std::printf(
        "  traffic      %llu msgs sent, %llu events delivered; own msgs p50 %llu us, "
        "p99 %llu us, max %llu us\n",
        u(s.sent), u(s.deliveries), u(s.latency.percentile(0.5)), u(s.latency.percentile(0.99)),
        u(s.latency.max()));
    std::printf(
        "  ids          gaps %llu, duplicates %llu, first-event mismatches %llu, "
        "order mismatches %llu\n",
        u(s.gaps), u(s.duplicates), u(s.first_event_mismatch), u(s.order_mismatch));
    std::printf(
        "  observer     %llu leave events; slots with join events missing %llu, "
        "leave count wrong %llu%s\n",
        u(s.leave_events), u(s.join_events_missing), u(s.leave_mismatch),
        s.observer_lost ? " (OBSERVER LOST)" : "");
    std::printf(
        "  failures     lost acks %llu, errors %llu, surprises %llu, setup %llu, "
        "setup timeouts %llu, close timeouts %llu, unexpected closes %llu (last code "
        "%u)%s\n",
        u(s.lost_acks), u(s.errors), u(s.protocol_surprises), u(s.setup_failures),
        u(s.setup_timeouts), u(s.close_timeouts), u(s.unexpected_closes), s.last_close_code,
        s.all_left ? "" : ", NOT ALL LEFT");
    if (s.rss_start_kib >= 0)
      std::printf("  server RSS   start %ld KiB, peak %ld KiB, end %ld KiB\n", s.rss_start_kib,
                  s.rss_peak_kib, s.rss_end_kib);
    std::printf("  chat_load    %.0f%% of one core\n", cpu_pct);
    if (!ok) std::printf("  RESULT: FAILED checks\n");
  }
  JsonLine j;
  j.add("mode", std::string_view("churn"));
  j.add("clients", opt.clients);
  j.add("duration_s", secs);
  j.add("seed", opt.seed);
  j.add("leave", std::string_view(opt.leave));
  j.add("sessions_started", s.sessions_started);
  j.add("sessions_joined", s.sessions_joined);
  j.add("joined_peak", s.joined_peak);
  j.add("leave_close", s.leaves[0]);
  j.add("leave_rst", s.leaves[1]);
  j.add("leave_fin", s.leaves[2]);
  j.add("leave_stall", s.leaves[3]);
  j.add("clean_closes", s.clean_closes);
  j.add("sent", s.sent);
  j.add("deliveries", s.deliveries);
  j.add("p50_us", s.latency.percentile(0.5));
  j.add("p99_us", s.latency.percentile(0.99));
  j.add("max_us", s.latency.max());
  j.add("gaps", s.gaps);
  j.add("duplicates", s.duplicates);
  j.add("first_event_mismatch", s.first_event_mismatch);
  j.add("order_mismatch", s.order_mismatch);
  j.add("lost_acks", s.lost_acks);
  j.add("errors", s.errors);
  j.add("protocol_surprises", s.protocol_surprises);
  j.add("setup_failures", s.setup_failures);
  j.add("setup_timeouts", s.setup_timeouts);
  j.add("close_timeouts", s.close_timeouts);
  j.add("unexpected_closes", s.unexpected_closes);
  j.add("last_close_code", uint32_t(s.last_close_code));
  j.add("leave_events", s.leave_events);
  j.add("join_events_missing", s.join_events_missing);
  j.add("leave_mismatch", s.leave_mismatch);
  j.add("observer_lost", s.observer_lost);
  j.add("all_left", s.all_left);
  j.add("rss_start_kib", static_cast<int64_t>(s.rss_start_kib));
  j.add("rss_peak_kib", static_cast<int64_t>(s.rss_peak_kib));
  j.add("rss_end_kib", static_cast<int64_t>(s.rss_end_kib));
  j.add("load_cpu_pct", cpu_pct);
  j.add("ports", std::vector<uint64_t>(opt.ports.begin(), opt.ports.end()));
  j.add("ok", ok);
  std::printf("%s\n", j.str().c_str());
  return ok ? 0 : 1;
}

}  // namespace chatd::load
