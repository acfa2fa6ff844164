// Fuzzes WsReader the way the server drives it: the input is split at read
// boundaries chosen by its leading bytes and fed through a buffer that behaves
// like the connection's input ring (append, next() until need_more, consume,
// kJsonPadding readable bytes after the data). The same stream is also fed
// whole; both runs must yield the same events, and every event must keep the
// reader's promises (UTF-8 checked against simdjson, limits, padding).
//
// Input layout: [limits byte][split count k][k chunk sizes][stream ...].
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "ws/close.h"
#include "ws/encoder.h"
#include "ws/frame.h"
#include "ws/reader.h"

namespace {

using namespace chatd;

class Ring {
 public:
  ~Ring() { std::free(buf_); }
  void append(const uint8_t* p, size_t n) {
    // Exactly sized, so ASan flags any read past the padding.
    buf_ = static_cast<uint8_t*>(std::realloc(buf_, len_ + n + kJsonPadding));
    CHECK(buf_);
    if (n) std::memcpy(buf_ + len_, p, n);
    len_ += n;
    std::memset(buf_ + len_, 0xA5, kJsonPadding);
  }
  void consume(size_t n) {
    CHECK(n <= len_);
    std::memmove(buf_, buf_ + n, len_ - n);
    len_ -= n;
  }
  uint8_t* data() { return buf_; }
  size_t size() const { return len_; }

 private:
  uint8_t* buf_ = nullptr;
  size_t len_ = 0;
};

struct Ev {
  WsEventType type;
  std::string data;
  uint16_t code;
  bool operator==(const Ev&) const = default;
};

// Checks one event against the reader's contract.
void check_event(const WsEvent& e, const ReaderLimits& lim, size_t have) {
  CHECK(e.consumed <= have);
  switch (e.type) {
    case WsEventType::need_more:
      CHECK(e.need_bytes > have - e.consumed);
      // The ring never has to hold more than one largest frame.
      CHECK(e.need_bytes <= std::max(lim.max_message, kMaxControlPayload) + kMaxClientFrameHeader);
      break;
    case WsEventType::text: {
      CHECK(e.len <= lim.max_message);
      CHECK(simdjson::validate_utf8(reinterpret_cast<const char*>(e.data), e.len));
      volatile uint8_t sink = 0;
      for (size_t i = 0; i < kJsonPadding; ++i) sink = sink ^ e.data[e.len + i];
      (void)sink;
      break;
    }
    case WsEventType::ping:
    case WsEventType::pong:
      CHECK(e.len <= kMaxControlPayload);
      break;
    case WsEventType::close:
      CHECK(close_code_valid(e.close_code));
      CHECK(simdjson::validate_utf8(reinterpret_cast<const char*>(e.data), e.len));
      break;
    case WsEventType::fail:
      CHECK(e.close_code == 1002 || e.close_code == 1003 || e.close_code == 1007 ||
            e.close_code == 1009);
      break;
  }
}

// Feeds `stream` in chunks of the given sizes (cycled; empty = whole).
std::vector<Ev> run(const uint8_t* stream, size_t n, const std::vector<size_t>& chunks,
                    const ReaderLimits& lim) {
  WsReader reader(&lim);
  Ring ring;
  std::vector<Ev> out;
  size_t pos = 0, k = 0;
  do {
    size_t take = chunks.empty() ? n - pos : std::min(chunks[k++ % chunks.size()], n - pos);
    ring.append(stream + pos, take);
    pos += take;
    for (;;) {
      WsEvent e = reader.next(ring.data(), ring.size());
      check_event(e, lim, ring.size());
      if (e.type == WsEventType::need_more) {
        ring.consume(e.consumed);
        break;
      }
      Ev ev{e.type, {}, e.close_code};
      if (e.data) ev.data.assign(reinterpret_cast<const char*>(e.data), e.len);
      out.push_back(std::move(ev));
      if (e.type == WsEventType::close || e.type == WsEventType::fail) {
        WsEvent again = reader.next(ring.data(), ring.size());
        CHECK(again.type == e.type && again.consumed == 0 && again.close_code == e.close_code);
        return out;
      }
      ring.consume(e.consumed);
    }
    CHECK(reader.memory_bytes() <= lim.max_message + kJsonPadding);
  } while (pos < n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Small limits so the fuzzer reaches them: 64 B .. 8 KiB, 1 .. 16 fragments.
  ReaderLimits lim;
  lim.max_message = 64u << (data[0] & 0x7);
  lim.max_fragments = 1 + (data[0] >> 4);
  size_t k = data[1] % 32, off = 2;
  std::vector<size_t> chunks;
  for (; chunks.size() < k && off < size; ++off) chunks.push_back(1 + data[off]);
  const uint8_t* stream = data + off;
  const size_t n = size - off;

  std::vector<Ev> whole = run(stream, n, {}, lim);
  std::vector<Ev> split = run(stream, n, chunks.empty() ? std::vector<size_t>{1} : chunks, lim);
  CHECK(whole == split);
  return 0;
}
