// One line per event worth knowing, to stderr, with a UTC timestamp.
// Quiet per message by design: the hot path never logs.
#pragma once

namespace chatd {

// printf-style; appends the newline. Writes with one write(2) so lines from
// a crash handler or a child never interleave mid-line.
void log_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace chatd
