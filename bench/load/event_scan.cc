#include "event_scan.h"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace chatd::load {

namespace {

// Finds "key" followed by optional blanks and ':' and blanks; returns the
// first byte of the value, or nullptr.
const char* find_value(const char* p, const char* end, std::string_view quoted_key) {
  while (p < end) {
    const void* hit = memmem(p, static_cast<size_t>(end - p), quoted_key.data(), quoted_key.size());
    if (!hit) return nullptr;
    const char* v = static_cast<const char*>(hit) + quoted_key.size();
    while (v < end && (*v == ' ' || *v == '\t')) ++v;
    if (v < end && *v == ':') {
      ++v;
      while (v < end && (*v == ' ' || *v == '\t')) ++v;
      return v;
    }
    p = static_cast<const char*>(hit) + 1;
  }
  return nullptr;
}

// Parses an unsigned decimal at p; returns the byte after it (p if none).
const char* parse_uint(const char* p, const char* end, uint64_t& out) {
  uint64_t v = 0;
  const char* s = p;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + uint64_t(*p++ - '0');
  if (p != s) out = v;
  return p;
}

}  // namespace

ScannedEvent scan_event(const char* p, size_t n) {
  ScannedEvent ev;
  const char* end = p + n;
  const char* type = find_value(p, end, "\"type\"");
  if (!type || type + 2 > end || *type != '"') return ev;
  switch (type[1]) {
    case 'm':
      ev.kind = EventKind::msg;
      break;
    case 's':
      ev.kind = EventKind::system;
      break;
    case 'w':
      ev.kind = EventKind::welcome;
      return ev;
    case 'e':
      ev.kind = EventKind::error;
      return ev;
    default:
      return ev;
  }
  if (const char* id = find_value(p, end, "\"id\"")) {
    uint64_t v = 0;
    ev.has_id = parse_uint(id, end, v) != id;
    ev.id = v;
  }
  if (ev.kind != EventKind::msg) return ev;
  const char* text = find_value(p, end, "\"msg\"");
  if (!text || *text != '"') return ev;
  ++text;
  uint64_t send_us = 0, sender = 0;
  const char* q = parse_uint(text, end, send_us);
  if (q == text || q >= end || *q != ' ') return ev;
  const char* r = parse_uint(q + 1, end, sender);
  if (r == q + 1 || r >= end || *r != ' ') return ev;
  ev.ours = true;
  ev.send_us = static_cast<int64_t>(send_us);
  ev.sender = static_cast<uint32_t>(sender);
  return ev;
}

size_t format_text(char* out, size_t size, int64_t send_us, uint32_t sender) {
  char head[48];
  int len = std::snprintf(head, sizeof head, "%lld %u ", static_cast<long long>(send_us), sender);
  size_t h = static_cast<size_t>(len);
  std::memcpy(out, head, h);
  if (size > h) std::memset(out + h, 'x', size - h);
  return size > h ? size : h;
}

}  // namespace chatd::load
