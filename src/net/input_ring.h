// InputRing: one connection's input bytes, contiguous, with simdjson padding.
//
//   buf                                                            buf+cap+kInputPadding
//   |  consumed  |   unread (readable)   |   free (writable)   | padding |
//   0            rd                      wr                    cap       |
//                ^ read_ptr()            ^ write_ptr()
//
// Invariants (asserted): rd <= wr <= cap; when buf is null, rd == wr == cap == 0;
// the kInputPadding bytes after cap are always allocated, so any payload
// inside [rd, wr) has at least kInputPadding readable bytes behind it — what
// simdjson's ondemand::parser::iterate(ptr, len, capacity) requires. The
// padding is zeroed once when the buffer is allocated and never written.
//
// Wrap rule (the only copy): read(2) appends at wr and parsers consume at rd.
// When reserve() finds fewer than the requested writable bytes, the unread
// tail [rd, wr) (a partial frame) is moved to offset 0 if that makes room, or
// into a bigger buffer if not. Consumed bytes are never moved, and a ring that
// becomes empty just rewinds to 0 without copying.
//
// Memory: an idle connection holds no buffer. reserve() takes a default-size
// buffer from the InputPool; release_if_empty() gives it back. A large frame
// grows the ring to a buffer of its own (a power of two, clamped to the
// caller's limit), freed as soon as the ring is empty again, so the next read
// starts over from a pooled buffer.
//
// Ownership: the ring owns its buffer. It must go back through
// release()/release_if_empty() to reach the pool; the destructor frees it.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chatd {

// Readable slack after the last byte of any buffer; simdjson's SIMDJSON_PADDING.
inline constexpr size_t kInputPadding = 64;
// Default size of a pooled input buffer (payload bytes, padding not counted).
inline constexpr uint32_t kInputBufferSize = 16 * 1024;
// Pooled buffers kept for reuse; beyond this a returned buffer is freed.
inline constexpr size_t kInputPoolKeep = 1024;
// Largest ring the uint32 offsets can describe (with room for the padding).
inline constexpr size_t kInputRingMax = size_t{1} << 30;

// A free list of equally sized input buffers (each `buffer_size` +
// kInputPadding bytes). Owns the buffers on its list; a taken buffer belongs
// to whoever took it until given back.
class InputPool {
 public:
  explicit InputPool(uint32_t buffer_size = kInputBufferSize, size_t max_kept = kInputPoolKeep);
  ~InputPool();
  InputPool(const InputPool&) = delete;
  InputPool& operator=(const InputPool&) = delete;

  // Returns a buffer of buffer_size() + kInputPadding bytes (padding zeroed).
  // Aborts if memory is exhausted, like operator new would.
  uint8_t* take();
  // Takes back a buffer from take(): kept for reuse, or freed when full.
  void give(uint8_t* buf);

  uint32_t buffer_size() const { return buffer_size_; }
  // Buffers sitting on the free list right now.
  size_t kept() const { return free_.size(); }

 private:
  uint32_t buffer_size_;
  size_t max_kept_;
  std::vector<uint8_t*> free_;
};

class InputRing {
 public:
  InputRing() = default;
  InputRing(InputRing&& o) noexcept;
  InputRing& operator=(InputRing&& o) noexcept;
  InputRing(const InputRing&) = delete;
  InputRing& operator=(const InputRing&) = delete;
  ~InputRing();

  // Unread bytes start here (nullptr when the ring holds no buffer).
  uint8_t* read_ptr() { return buf_ + rd_; }
  const uint8_t* read_ptr() const { return buf_ + rd_; }
  size_t readable() const { return wr_ - rd_; }
  // Marks `n` <= readable() bytes as consumed; an emptied ring rewinds to 0.
  void consume(size_t n);

  // Makes writable() >= min_writable, applying the wrap rule (compact, else
  // grow) and taking a buffer from `pool` if the ring has none. Returns false,
  // leaving the ring unchanged, if readable() + min_writable fits neither the
  // buffer it has (or a pooled one, if it has none) nor `cap_limit`. Pass the bytes you
  // actually need (the rest of the current frame, or 1), not a read size
  // wish: asking for more than needed compacts or grows early.
  bool reserve(size_t min_writable, size_t cap_limit, InputPool& pool);
  // New bytes go here; writable() of them, then report them with produced().
  uint8_t* write_ptr() { return buf_ + wr_; }
  size_t writable() const { return cap_ - wr_; }
  // Commits `n` <= writable() bytes written at write_ptr().
  void produced(size_t n);

  // If nothing is unread, gives the buffer back (pooled size) or frees it
  // (grown), so an idle connection holds no input memory.
  void release_if_empty(InputPool& pool);
  // Drops any unread bytes and gives the buffer back (connection closing).
  void release(InputPool& pool);

  // Heap bytes held by this ring (buffer plus padding), for metrics.
  size_t memory_bytes() const { return buf_ ? cap_ + kInputPadding : 0; }
  size_t capacity() const { return cap_; }
  // Offset of read_ptr() from the buffer start; tests check the wrap rule.
  size_t read_offset() const { return rd_; }

 private:
  void check() const {
    assert(rd_ <= wr_ && wr_ <= cap_);
    assert(buf_ || (rd_ == 0 && wr_ == 0 && cap_ == 0));
  }
  void drop_buffer(InputPool& pool);

  uint8_t* buf_ = nullptr;
  uint32_t rd_ = 0;
  uint32_t wr_ = 0;
  uint32_t cap_ = 0;
};

static_assert(sizeof(InputRing) <= 24, "one per connection: keep it small");

}  // namespace chatd
