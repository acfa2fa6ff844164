#include "event_scan.h"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace chatd::load {

namespace {

// If a key `"key"` starts at the quote q, returns the first byte of its
// value (after blanks, ':' and blanks), else nullptr. A string value such as
// "msg" in "type":"msg" is followed by ',' or '}', never ':', so it is skipped.
const char* value_after_key(const char* q, const char* end, std::string_view key) {
  if (static_cast<size_t>(end - q) < key.size() + 3) return nullptr;
  if (std::memcmp(q + 1, key.data(), key.size()) != 0 || q[key.size() + 1] != '"') return nullptr;
  const char* v = q + key.size() + 2;
  while (v < end && (*v == ' ' || *v == '\t')) ++v;
  if (v >= end || *v != ':') return nullptr;
  ++v;
  while (v < end && (*v == ' ' || *v == '\t')) ++v;
  return v;
}

// Finds key `key` scanning forward from quote to quote (memchr skips long
// texts in one vector pass); returns the first byte of its value or nullptr.
const char* find_value(const char* p, const char* end, std::string_view key) {
  while (p < end) {
    const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (!q) return nullptr;
    if (const char* v = value_after_key(q, end, key)) return v;
    p = q + 1;
  }
  return nullptr;
}

// Like find_value but from the end: "id" and "ts" usually close an event.
const char* find_value_backward(const char* begin, const char* end, std::string_view key) {
  const char* p = end;
  while (p > begin) {
    const void* hit = memrchr(begin, '"', static_cast<size_t>(p - begin));
    if (!hit) return nullptr;
    const char* q = static_cast<const char*>(hit);
    if (const char* v = value_after_key(q, end, key)) return v;
    p = q;
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

// A string value at v (its opening quote); empty if v is not a string. The
// server's epochs and our room names hold no escapes.
std::string_view string_at(const char* v, const char* end) {
  if (!v || v >= end || *v != '"') return {};
  const void* close = std::memchr(v + 1, '"', static_cast<size_t>(end - v - 1));
  if (!close) return {};
  return std::string_view(v + 1, static_cast<size_t>(static_cast<const char*>(close) - v - 1));
}

// The v2 fields of a welcome, which follow its (possibly long) users list.
void scan_welcome(const char* p, const char* end, ScannedEvent& ev) {
  if (const char* v = find_value_backward(p, end, "last_id")) parse_uint(v, end, ev.last_id);
  if (const char* v = find_value_backward(p, end, "resumed"))
    ev.resumed = end - v >= 4 && std::memcmp(v, "true", 4) == 0;
  ev.epoch = string_at(find_value_backward(p, end, "epoch"), end);
}

}  // namespace

std::string_view scan_room(const char* p, size_t n) {
  return string_at(find_value(p, p + n, "room"), p + n);
}

ScannedEvent scan_event(const char* p, size_t n) {
  ScannedEvent ev;
  const char* end = p + n;
  const char* type = find_value(p, end, "type");
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
      scan_welcome(p, end, ev);
      return ev;
    case 'e':
      ev.kind = EventKind::error;
      return ev;
    default:
      return ev;
  }
  if (const char* id = find_value_backward(p, end, "id")) {
    uint64_t v = 0;
    ev.has_id = parse_uint(id, end, v) != id;
    ev.id = v;
  }
  if (ev.kind != EventKind::msg) return ev;
  const char* text = find_value(p, end, "msg");
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
