#include "report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace chatd::load {

void JsonLine::key(std::string_view k) {
  if (!body_.empty()) body_ += ',';
  body_ += '"';
  body_ += k;
  body_ += "\":";
}

void JsonLine::add(std::string_view k, double v) {
  key(k);
  char buf[64];
  if (!std::isfinite(v)) v = 0;
  std::snprintf(buf, sizeof buf, "%.6g", v);
  if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  body_ += buf;
}

void JsonLine::add(std::string_view k, uint64_t v) {
  key(k);
  body_ += std::to_string(v);
}

void JsonLine::add(std::string_view k, bool v) {
  key(k);
  body_ += v ? "true" : "false";
}

void JsonLine::add(std::string_view k, std::string_view v) {
  key(k);
  body_ += '"';
  for (char ch : v) {
    if (ch == '"' || ch == '\\') body_ += '\\';
    body_ += ch;
  }
  body_ += '"';
}

void JsonLine::add(std::string_view k, const std::vector<uint64_t>& v) {
  key(k);
  body_ += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) body_ += ',';
    body_ += std::to_string(v[i]);
  }
  body_ += ']';
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

long rss_kib(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::strtol(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib;
}

double process_cpu_seconds(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) is in parentheses and may hold spaces: count
  // fields from the last ')'. utime and stime are fields 14 and 15.
  const char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2)
    return -1;
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// The sum of f(pid) over pids, or -1 as soon as one is unknown (-1).
template <typename T>
T sum_over(const std::vector<int>& pids, T (*f)(int)) {
  T sum = 0;
  for (int pid : pids) {
    T v = f(pid);
    if (v < 0) return -1;
    sum += v;
  }
  return sum;
}

long service_rss_kib(const std::vector<int>& pids) {
  return sum_over(pids, rss_kib);
}

double service_cpu_seconds(const std::vector<int>& pids) {
  return sum_over(pids, process_cpu_seconds);
}

}  // namespace chatd::load
