#include "wire_check.h"

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "codec/utf8.h"
#include "ws/close.h"
#include "ws/frame.h"

namespace fuzz {

namespace {

using namespace chatd;

#define WIRE_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: server output: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

constexpr std::string_view kStatusPrefix = "HTTP/1.1 ";

// Skips the HTTP responses in front of the WebSocket frames. Returns the
// offset of the first frame byte, or npos when no 101 was (fully) sent.
size_t skip_http(std::string_view out) {
  size_t pos = 0;
  while (pos < out.size()) {
    std::string_view rest = out.substr(pos);
    if (rest.size() < kStatusPrefix.size()) {
      WIRE_CHECK(kStatusPrefix.substr(0, rest.size()) == rest);
      return std::string_view::npos;
    }
    WIRE_CHECK(rest.substr(0, kStatusPrefix.size()) == kStatusPrefix);
    size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) return std::string_view::npos;  // truncated
    end += 4;
    std::string_view head = rest.substr(0, end);
    int status = std::atoi(std::string(head.substr(kStatusPrefix.size(), 3)).c_str());
    WIRE_CHECK(status >= 100 && status <= 599);
    if (status == 101) return pos + end;
    size_t length = 0;
    size_t cl = head.find("\r\nContent-Length: ");
    if (cl != std::string_view::npos) {
      length = size_t(std::strtoull(std::string(head.substr(cl + 18, 12)).c_str(), nullptr, 10));
    }
    pos += end;
    // A HEAD response announces a length but has no body: the next response
    // follows at once.
    std::string_view next = out.substr(pos);
    bool next_is_head = next.substr(0, kStatusPrefix.size()) == kStatusPrefix;
    if (!next_is_head) pos += length;
  }
  return std::string_view::npos;
}

using LastIds = std::unordered_map<std::string, uint64_t>;

void check_text(std::string_view payload, EventLog& log, LastIds& last_ids) {
  static simdjson::dom::parser parser;
  WIRE_CHECK(utf8_valid(payload));
  simdjson::dom::object obj;
  WIRE_CHECK(parser.parse(payload.data(), payload.size()).get(obj) == simdjson::SUCCESS);
  std::string_view type, room = "general";
  WIRE_CHECK(obj["type"].get(type) == simdjson::SUCCESS);
  if (type == "welcome" || type == "error" || type == "history" || type == "rooms") {
    WIRE_CHECK(obj["id"].error() == simdjson::NO_SUCH_FIELD);
    if (type == "welcome" && obj["room"].get(room) == simdjson::SUCCESS) {
      last_ids[std::string(room)] = 0;
    }
    return;
  }
  WIRE_CHECK(type == "system" || type == "msg");
  WIRE_CHECK(obj["room"].get(room) == simdjson::SUCCESS);
  uint64_t id = 0;
  WIRE_CHECK(obj["id"].get(id) == simdjson::SUCCESS);
  uint64_t& last = last_ids[std::string(room)];
  WIRE_CHECK(last == 0 || id == last + 1);
  last = id;
  auto [it, fresh] =
      log.by_room_id.try_emplace(std::string(room) + "/" + std::to_string(id), payload);
  WIRE_CHECK(fresh || it->second == payload);
}

}  // namespace

void check_output(const std::string& out, EventLog& log) {
  size_t pos = skip_http(out);
  if (pos == std::string_view::npos) return;
  LastIds last_ids;
  bool closed = false;
  // A fragmented message so far (a history answer: RFC 6455 section 5.4);
  // empty with in_message false outside one.
  std::string message;
  bool in_message = false;
  const auto* bytes = reinterpret_cast<const uint8_t*>(out.data());
  while (pos < out.size()) {
    WIRE_CHECK(!closed);  // nothing after our close frame
    FrameHeader h{};
    HeaderResult r = parse_frame_header(bytes + pos, out.size() - pos, h, MaskRule::forbidden);
    WIRE_CHECK(r.status != HeaderStatus::error);
    if (r.status == HeaderStatus::need_more) return;  // truncated
    WIRE_CHECK(h.rsv == 0 && !h.masked);
    WIRE_CHECK(h.fin || h.opcode == Opcode::text || h.opcode == Opcode::continuation);
    if (out.size() - pos - h.header_len < h.payload_len) return;  // truncated
    std::string_view payload(out.data() + pos + h.header_len, size_t(h.payload_len));
    switch (h.opcode) {
      case Opcode::text:
        WIRE_CHECK(!in_message);  // no data frame between the fragments of a message
        if (h.fin) {
          check_text(payload, log, last_ids);
        } else {
          message.assign(payload);
          in_message = true;
        }
        break;
      case Opcode::continuation:
        WIRE_CHECK(in_message);
        message.append(payload);
        if (h.fin) {
          check_text(message, log, last_ids);
          in_message = false;
          message.clear();
        }
        break;
      case Opcode::ping:
        WIRE_CHECK(payload.empty());
        break;
      case Opcode::pong:
        WIRE_CHECK(payload.size() <= kMaxControlPayload);
        break;
      case Opcode::close: {
        // RFC 6455 lets a close come between fragments, but the server
        // finishes a started message first (OutputQueue::drop_unstarted).
        WIRE_CHECK(!in_message);
        WIRE_CHECK(payload.size() >= 2);
        uint16_t code = uint16_t((uint8_t(payload[0]) << 8) | uint8_t(payload[1]));
        WIRE_CHECK(close_code_valid(code));
        WIRE_CHECK(utf8_valid(payload.substr(2)));
        closed = true;
        break;
      }
      default:
        WIRE_CHECK(false && "binary frame from the server");
    }
    pos += h.header_len + size_t(h.payload_len);
  }
}

}  // namespace fuzz
