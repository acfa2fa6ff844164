// Block: a reference-counted byte block with headroom, the unit of output.
//
// One allocation holds the control fields and the bytes:
//
//   | Block fields | headroom ...... | content .......... | spare ...... |
//                  ^ bytes()         ^ bytes()+begin      ^ bytes()+end  ^ bytes()+capacity
//
// Invariants (asserted): begin <= end <= capacity; refs >= 1 while reachable.
// Headroom exists so a WebSocket frame header can be written in front of a
// body that was encoded first: the frame is never copied to prepend it.
//
// A block is written by its creator while it holds the only reference and is
// immutable once shared (push to a queue, copy a BlockRef). The count is a
// plain integer: the server has one thread and blocks never cross threads.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

namespace chatd {

struct Block {
  uint32_t refs;
  uint32_t capacity;
  uint32_t begin;
  uint32_t end;

  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  const char* data() const { return bytes() + begin; }
  size_t size() const { return end - begin; }
  std::string_view view() const { return {data(), size()}; }
  size_t headroom() const { return begin; }
  size_t tailroom() const { return capacity - end; }
};

// Allocates a block able to hold `capacity` bytes with `headroom` of them
// reserved in front of the (empty) content. Returns nullptr only if malloc fails.
Block* block_alloc(size_t capacity, size_t headroom);
void block_free(Block* b);

inline void block_retain(Block* b) {
  assert(b->refs >= 1);
  ++b->refs;
}
inline void block_release(Block* b) {
  assert(b->refs >= 1);
  if (--b->refs == 0) block_free(b);
}

// Owning handle: copying adds a reference, destruction drops one.
class BlockRef {
 public:
  BlockRef() = default;
  // Adopts a fresh block (refs == 1) without adding a reference.
  static BlockRef adopt(Block* b) {
    BlockRef r;
    r.b_ = b;
    return r;
  }
  static BlockRef make(size_t capacity, size_t headroom = 0) {
    return adopt(block_alloc(capacity, headroom));
  }
  BlockRef(const BlockRef& o) : b_(o.b_) {
    if (b_) block_retain(b_);
  }
  BlockRef(BlockRef&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  BlockRef& operator=(BlockRef o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~BlockRef() {
    if (b_) block_release(b_);
  }

  explicit operator bool() const { return b_ != nullptr; }
  Block* get() const { return b_; }
  Block* operator->() const { return b_; }
  // Gives up ownership of the reference to the caller.
  Block* release() { return std::exchange(b_, nullptr); }

  // Writers: valid only while this is the sole reference.
  void append(const void* p, size_t n) {
    if (n == 0) return;  // memcpy with a null source is UB even for 0 bytes
    assert(b_->refs == 1 && n <= b_->tailroom());
    std::memcpy(b_->bytes() + b_->end, p, n);
    b_->end += static_cast<uint32_t>(n);
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void prepend(const void* p, size_t n) {
    if (n == 0) return;
    assert(b_->refs == 1 && n <= b_->headroom());
    b_->begin -= static_cast<uint32_t>(n);
    std::memcpy(b_->bytes() + b_->begin, p, n);
  }
  // Raw tail for encoders that write in place; commit() what was written.
  char* tail() { return b_->bytes() + b_->end; }
  void commit(size_t n) {
    assert(b_->refs == 1 && n <= b_->tailroom());
    b_->end += static_cast<uint32_t>(n);
  }

 private:
  Block* b_ = nullptr;
};

// A run of one block's content, bytes [offset, offset + len) of
// block->view(), holding one reference to the block: how a message made of
// pieces of shared blocks (a history answer: its glue and the ring's stored
// events) is handed to an output queue without copying the pieces.
struct BlockSlice {
  BlockRef block;
  uint32_t offset = 0;
  uint32_t len = 0;

  std::string_view view() const { return {block->data() + offset, len}; }
};

}  // namespace chatd
