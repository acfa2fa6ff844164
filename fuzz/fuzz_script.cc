#include "fuzz_script.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>

#include <cstring>
#include <string>

namespace fuzz {

namespace {

using fake_os::Socket;
using fake_os::World;

// Byte strings a fuzzer would take long to find, spliced in whole.
constexpr std::string_view kTokens[] = {
    "GET /ws HTTP/1.1\r\n",
    "GET / HTTP/1.1\r\n",
    "Host: chat.example:8080\r\n",
    "Upgrade: websocket\r\n",
    "Connection: Upgrade\r\n",
    "Connection: close\r\n",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    "Sec-WebSocket-Version: 13\r\n",
    "Origin: http://chat.example:8080\r\n",
    "Origin: http://evil.example\r\n",
    "Content-Length: 5\r\n",
    "Transfer-Encoding: chunked\r\n",
    "\r\n",
    "\r\n\r\n",
    "{\"type\":\"join\",\"nick\":\"",
    "{\"type\":\"msg\",\"msg\":\"",
    "\"}",
    "\\u0000",
    "\xc3\xa9",
    "\xed\xa0\x80",
    "\x81\x85\x00\x00\x00\x00",  // a masked text header, zero mask, 5 bytes
    "\x88\x82\x00\x00\x00\x00\x03\xe8",
    "\x89\x80\x00\x00\x00\x00",
    "\x8a\x80\x00\x00\x00\x00",
};

constexpr std::string_view kRequests[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /chat.html HTTP/1.1\r\nHost: a\r\n\r\n",
    "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    "GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /sub/a.css HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /out HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /app.js HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "GET /ws HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /app.js HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Sun, 06 Nov 2094 08:49:37 GMT\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "GET /big.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /big.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    "HEAD /big.txt HTTP/1.1\r\nHost: a\r\n\r\n",
};

constexpr size_t kRooms[] = {0, 1, 2, 7, 64, 1000, 65536, fake_os::kUnlimited};
constexpr size_t kChunks[] = {1, 2, 3, 7, 64, 1000, 70000, fake_os::kUnlimited};
constexpr int64_t kSteps[] = {1, 50, 999, 5000, 10001, 30001, 60001};
constexpr uint16_t kCloseCodes[] = {1000, 1001, 1002, 1005, 1006, 1011,
                                    1015, 2999, 3000, 4999, 5000, 0};

template <typename T, size_t N>
const T& pick(const T (&table)[N], uint8_t b) {
  return table[b % N];
}

// The peer a byte names, among all sockets of the case; null before the first.
Socket* peer(World& w, uint8_t b) {
  return w.sockets.empty() ? nullptr : w.sockets[b % w.sockets.size()].get();
}

void send(Socket* s, std::string_view bytes) {
  if (s && !s->peer_eof && !s->reset) s->in.append(bytes);
}

sockaddr_storage address(uint8_t b) {
  sockaddr_storage a{};
  static const char* const kV4[] = {"10.0.0.1", "10.0.0.2", "192.0.2.7"};
  static const char* const kV6[] = {"2001:db8::1", "2001:db8::2", "2001:db8:1::1",
                                    "::ffff:10.0.0.1"};
  unsigned i = b % 7;
  if (i < 3) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(40000 + b));
    inet_pton(AF_INET, kV4[i], &v4->sin_addr);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(40000 + b));
    inet_pton(AF_INET6, kV6[i - 3], &v6->sin6_addr);
  }
  return a;
}

// One client frame; `flags` may break it (RSV bits, no mask, no FIN).
std::string frame(uint8_t opcode, std::string_view payload, bool fin = true, uint8_t rsv = 0,
                  bool masked = true, uint8_t mask_seed = 0x5a) {
  std::string f;
  f += char((fin ? 0x80 : 0) | (rsv << 4) | (opcode & 0x0f));
  uint8_t m = masked ? 0x80 : 0;
  size_t n = payload.size();
  if (n < 126) {
    f += char(m | n);
  } else if (n < 65536) {
    f += char(m | 126);
    f += char(n >> 8);
    f += char(n & 0xff);
  } else {
    f += char(m | 127);
    for (int i = 7; i >= 0; --i) f += char((uint64_t(n) >> (8 * i)) & 0xff);
  }
  uint8_t mask[4] = {mask_seed, uint8_t(mask_seed * 7), uint8_t(mask_seed + 13), 0x3c};
  if (masked) f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < n; ++i) f += masked ? char(payload[i] ^ mask[i & 3]) : payload[i];
  return f;
}

std::string handshake(uint8_t v) {
  std::string r = (v & 0x10) ? "GET /ws?room=x HTTP/1.1\r\n" : "GET /ws HTTP/1.1\r\n";
  r += "Host: chat.example:8080\r\nUpgrade: websocket\r\n";
  r += (v & 0x20) ? "Connection: keep-alive, Upgrade\r\n" : "Connection: Upgrade\r\n";
  if (!(v & 0x08)) r += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  r += (v & 0x04) ? "Sec-WebSocket-Version: 8\r\n" : "Sec-WebSocket-Version: 13\r\n";
  static const char* const kOrigins[] = {nullptr, "http://chat.example:8080", "http://evil.example",
                                         "http://good.example"};
  if (const char* o = kOrigins[v & 3]) r += std::string("Origin: ") + o + "\r\n";
  return r + "\r\n";
}

// Chat JSON around `text`; quotes and backslashes are escaped unless `raw`.
std::string chat_json(bool join, std::string_view text, bool raw) {
  std::string j = join ? "{\"type\":\"join\",\"nick\":\"" : "{\"type\":\"msg\",\"msg\":\"";
  for (char c : text) {
    if (!raw && (c == '"' || c == '\\')) j += '\\';
    j += c;
  }
  return j + "\"}";
}

// A protocol v2 request built from `flags`: its type, its room among a few,
// and the fields that go with it; `text` is the nick or the message.
std::string v2_json(uint8_t flags, std::string_view text) {
  static const char* const kRoomNames[] = {"general", "a", "b", "BAD"};
  std::string room = std::string(",\"room\":\"") + kRoomNames[(flags >> 6) & 3] + "\"";
  std::string t;
  for (char c : text) {
    if (c == '"' || c == '\\') t += '\\';
    t += c;
  }
  switch ((flags >> 4) % 5) {
    case 0:
      return "{\"type\":\"join\",\"nick\":\"" + t + "\"" + room + ",\"history\":3}";
    case 1:
      return "{\"type\":\"join\"" + room + ",\"since\":" + std::to_string(flags & 7) +
             ",\"epoch\":\"" + t + "\",\"ref\":\"r\"}";
    case 2:
      return "{\"type\":\"msg\"" + room + ",\"msg\":\"" + t + "\"}";
    case 3:
      return (flags & 1) ? "{\"type\":\"leave\"" + room + "}"
                         : "{\"type\":\"history\"" + room +
                               ",\"before\":" + std::to_string(flags & 7) + ",\"limit\":2}";
    default:
      return "{\"type\":\"rooms\",\"ref\":\"" + t + "\"}";
  }
}

}  // namespace

std::string_view Script::take(size_t n) {
  size_t k = std::min(n, size - pos);
  std::string_view v(reinterpret_cast<const char*>(data + pos), k);
  pos += k;
  return v;
}

void play_op(Script& s, World& w, int timeout_ms) {
  uint8_t op = s.byte();
  switch (op % 20) {
    case 0:
    case 1:
      fake_os::connect(address(s.byte()));
      break;
    case 2: {
      Socket* p = peer(w, s.byte());
      send(p, s.take(s.byte()));
      break;
    }
    case 3: {
      Socket* p = peer(w, s.byte());
      send(p, pick(kTokens, s.byte()));
      break;
    }
    case 4: {
      Socket* p = peer(w, s.byte());
      send(p, pick(kRequests, s.byte()));
      break;
    }
    case 5:
    case 6: {
      Socket* p = peer(w, s.byte());
      send(p, handshake(s.byte()));
      break;
    }
    case 7:
    case 8: {  // a chat message in one frame; long ones test the limits
      Socket* p = peer(w, s.byte());
      uint8_t flags = s.byte();
      std::string text(s.take(s.byte()));
      if (flags & 0x08) {  // protocol v2: rooms, replay, history
        send(p, frame(1, v2_json(flags, text), true, 0, true, flags));
        break;
      }
      if (flags & 0x04) text = std::string(size_t(flags) * 40, 'x') + text;
      send(p, frame(1, chat_json(flags & 1, text, flags & 2), true, 0, true, flags));
      break;
    }
    case 9: {  // any frame, maybe broken
      Socket* p = peer(w, s.byte());
      uint8_t h = s.byte();
      std::string_view payload = s.take(s.byte());
      send(p, frame(h & 0x0f, payload, !(h & 0x10), (h >> 5) & 1, !(h & 0x40), h));
      break;
    }
    case 10: {  // a message in pieces, maybe with a ping between them
      Socket* p = peer(w, s.byte());
      uint8_t flags = s.byte();
      std::string json = chat_json(flags & 1, s.take(s.byte()), false);
      size_t pieces = 2 + (flags >> 5), step = json.size() / pieces + 1;
      for (size_t i = 0, at = 0; at < json.size() || i == 0; ++i, at += step) {
        bool last = at + step >= json.size();
        std::string_view part = std::string_view(json).substr(at, step);
        send(p, frame(i == 0 ? 1 : 0, part, last, 0, true, uint8_t(flags + i)));
        if ((flags & 2) && !last) send(p, frame(9, "hi"));
      }
      break;
    }
    case 11: {
      Socket* p = peer(w, s.byte());
      uint16_t code = pick(kCloseCodes, s.byte());
      std::string payload;
      if (code) payload = {char(code >> 8), char(code & 0xff)};
      payload += s.take(s.byte() % 8);
      send(p, frame(8, payload));
      break;
    }
    case 12:
      if (Socket* p = peer(w, s.byte())) p->peer_eof = true;
      break;
    case 13:
      if (Socket* p = peer(w, s.byte())) p->reset = true;
      break;
    case 14:
      if (Socket* p = peer(w, s.byte())) p->send_room = pick(kRooms, s.byte());
      break;
    case 15:
      if (Socket* p = peer(w, s.byte())) p->read_chunk = pick(kChunks, s.byte());
      break;
    case 16: {  // time passes: a step, or the whole wait the server asked for
      uint8_t b = s.byte();
      int64_t ms = (b & 0x80) && timeout_ms > 0 ? timeout_ms : pick(kSteps, b);
      w.mono_ms += ms;
      w.wall_ms += ms;
      break;
    }
    case 17:
      w.signal_pending = true;
      w.signal_number = (s.byte() & 1) ? SIGINT : SIGTERM;
      break;
    case 18:
      switch (s.byte() % 7) {
        case 0:
          w.faults.accept_errno = EMFILE;
          break;
        case 1:
          w.faults.accept_errno = ECONNABORTED;
          break;
        case 2:
          w.faults.accept_errno = EPROTO;
          break;
        case 3:
          w.faults.epoll_add_errno = ENOMEM;
          break;
        case 4:
          w.faults.read_eintr = true;
          break;
        case 5:
          w.faults.send_eintr = true;
          break;
        default:
          w.faults.wait_eintr = true;
          break;
      }
      break;
    default:
      w.rotate = s.byte();
      break;
  }
}

}  // namespace fuzz
