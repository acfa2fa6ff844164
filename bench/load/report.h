// Output of a run: a few aligned human lines, then one JSON object on the
// last line (the script reads only that). Also the process figures a report
// needs: own CPU time and another process's resident memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::load {

// Builds one flat JSON object, fields in insertion order.
class JsonLine {
 public:
  void add(std::string_view key, double v);
  void add(std::string_view key, uint64_t v);
  void add(std::string_view key, int64_t v) { add(key, static_cast<double>(v)); }
  void add(std::string_view key, uint32_t v) { add(key, static_cast<uint64_t>(v)); }
  void add(std::string_view key, bool v);
  void add(std::string_view key, std::string_view v);
  // An array of numbers: [v0,v1,...] (per node figures, say).
  void add(std::string_view key, const std::vector<uint64_t>& v);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

// User + system CPU seconds this process has used so far.
double cpu_seconds();

// VmRSS of process `pid` in KiB, or -1 if it cannot be read.
long rss_kib(int pid);

// User + system CPU seconds process `pid` has used so far (utime + stime of
// /proc/PID/stat), or -1 if it cannot be read.
double process_cpu_seconds(int pid);

// The sums of rss_kib and of process_cpu_seconds over `pids` (a service of
// several processes); -1 if any of them cannot be read.
long service_rss_kib(const std::vector<int>& pids);
double service_cpu_seconds(const std::vector<int>& pids);

}  // namespace chatd::load
