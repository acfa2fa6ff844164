#include "chat/history_answer.h"

#include <cassert>
#include <cstring>

#include "chat/json_writer.h"
#include "ws/encoder.h"

namespace chatd {

namespace {

constexpr std::string_view kHead = R"({"type":"history","room":")";
constexpr std::string_view kEvents = R"(","events":[)";
constexpr std::string_view kMoreTrue = R"(],"more":true)";
constexpr std::string_view kMoreFalse = R"(],"more":false)";
constexpr std::string_view kRef = R"(,"ref":")";

// The glue block's writer: the block is unshared until every byte is in.
struct Glue {
  BlockRef block;
  uint32_t at() const { return uint32_t(block->size()); }
  void raw(std::string_view s) { block.append(s); }
  void esc(std::string_view s) {
    block.commit(size_t(write_escaped(block.tail(), s) - block.tail()));
  }
  void header(Opcode op, size_t payload_len, bool fin) {
    block.commit(
        write_frame_header(reinterpret_cast<uint8_t*>(block.tail()), op, payload_len, fin));
  }
};

}  // namespace

void history_answer(std::string_view room, std::span<const BlockRef> events, bool more,
                    std::string_view ref, std::vector<BlockSlice>& out) {
  const size_t n = events.size();
  out.clear();
  // Filled in place, not pushed: an answer is 2n + 1 pieces and this runs
  // per history request, so it is written like the hot path it nearly is.
  out.resize(n ? 2 * n + 1 : 1);
  const size_t head_len = kHead.size() + escaped_size(room) + kEvents.size();
  const std::string_view more_part = more ? kMoreTrue : kMoreFalse;
  const size_t tail_len =
      more_part.size() + (ref.empty() ? 0 : kRef.size() + escaped_size(ref) + 1) + 1;
  // Sized exactly: the head and tail frames (one frame when there are no
  // events), and per event its continuation header and comma. The event
  // slices are set on the way.
  size_t glue_len =
      n == 0 ? frame_header_len(head_len + tail_len) + head_len + tail_len
             : frame_header_len(head_len) + head_len + frame_header_len(tail_len) + tail_len;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view payload = server_frame_payload(*events[i].get());
    BlockSlice& ev = out[2 * i + 1];
    ev.block = events[i];
    ev.offset = uint32_t(payload.data() - events[i]->data());
    ev.len = uint32_t(payload.size());
    glue_len += frame_header_len(payload.size() + (i ? 1 : 0)) + (i ? 1 : 0);
  }
  Glue g{BlockRef::make(glue_len)};
  if (!g.block) return out.clear();
  // No events: one whole frame, nothing to fragment.
  g.header(Opcode::text, n == 0 ? head_len + tail_len : head_len, n == 0);
  g.raw(kHead);
  g.esc(room);
  g.raw(kEvents);
  // Glue pieces get their (offset, len) now and their block once it is
  // complete, since a shared block is immutable.
  uint32_t piece_at = 0;
  for (size_t i = 0; i < n; ++i) {
    g.header(Opcode::continuation, out[2 * i + 1].len + (i ? 1 : 0), false);
    if (i) g.raw(",");
    out[2 * i].offset = piece_at;
    out[2 * i].len = g.at() - piece_at;
    piece_at = g.at();
  }
  if (n) g.header(Opcode::continuation, tail_len, true);
  g.raw(more_part);
  if (!ref.empty()) {
    g.raw(kRef);
    g.esc(ref);
    g.raw("\"");
  }
  g.raw("}");
  assert(g.at() == glue_len);
  out.back().offset = piece_at;
  out.back().len = g.at() - piece_at;
  for (size_t k = 0; k < out.size(); k += 2) out[k].block = g.block;
}

}  // namespace chatd
