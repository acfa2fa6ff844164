#include "base/log.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace chatd {

void log_line(const char* fmt, ...) {
  char buf[1024];
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  n += snprintf(buf + n, sizeof buf - n, ".%03ldZ chatd: ", now.tv_nsec / 1000000);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  n = (m < 0) ? n : std::min(sizeof buf - 2, n + size_t(m));
  buf[n++] = '\n';
  ssize_t ignored = write(STDERR_FILENO, buf, n);
  (void)ignored;
}

}  // namespace chatd
