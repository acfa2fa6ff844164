#include "rooms.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace chatd::load {

size_t format_room(char* out, uint32_t room) {
  return static_cast<size_t>(std::snprintf(out, 12, "r%u", room));
}

size_t format_join(char* out, char prefix, uint32_t index, bool rooms_on, uint32_t room,
                   uint64_t since, std::string_view epoch) {
  int n = 0;
  if (!rooms_on)
    n = std::snprintf(out, kMaxRequestHead, "{\"type\":\"join\",\"nick\":\"%c%u\"", prefix, index);
  else
    n = std::snprintf(out, kMaxRequestHead, "{\"type\":\"join\",\"room\":\"r%u\",\"nick\":\"%c%u\"",
                      room, prefix, index);
  // An epoch is at most a few dozen bytes; a longer one is cut, and the
  // server then answers resumed:false, which the run reports.
  if (!epoch.empty())
    n += std::snprintf(out + n, kMaxRequestHead - size_t(n), ",\"since\":%llu,\"epoch\":\"%.*s\"",
                       static_cast<unsigned long long>(since),
                       static_cast<int>(std::min<size_t>(epoch.size(), 128)), epoch.data());
  out[n++] = '}';
  return static_cast<size_t>(n);
}

size_t format_msg_head(char* out, bool rooms_on, uint32_t room) {
  int n = rooms_on ? std::snprintf(out, kMaxRequestHead,
                                   "{\"type\":\"msg\",\"room\":\"r%u\",\"msg\":\"", room)
                   : std::snprintf(out, kMaxRequestHead, "{\"type\":\"msg\",\"msg\":\"");
  return static_cast<size_t>(n);
}

uint64_t event_hash(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, n - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h ? h : 1;
}

bool RoomOrder::check(uint32_t room, uint64_t id, uint64_t hash) {
  Log& log = logs_[room < logs_.size() ? room : 0];
  if (log.hashes.empty()) {
    log.base = id;
    log.hashes.push_back(hash);
    return true;
  }
  if (id < log.base) {
    // An earlier id than any seen so far: only while clients are still
    // joining (an early joiner's events arrive after a later joiner's).
    if (log.base - id > kMaxSpan) return true;
    log.hashes.insert(log.hashes.begin(), log.base - id, 0);
    log.base = id;
  }
  uint64_t at = id - log.base;
  if (at >= kMaxSpan) return true;
  if (at >= log.hashes.size()) log.hashes.resize(at + 1, 0);
  uint64_t& seen = log.hashes[at];
  if (seen == 0) seen = hash;
  return seen == hash;
}

}  // namespace chatd::load
