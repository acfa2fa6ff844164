#include "net/input_ring.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace chatd {

// Allocates `cap` bytes plus the padding; only the padding is zeroed, since
// it is the one part read without having been written.
static uint8_t* alloc_buffer(size_t cap) {
  auto* p = static_cast<uint8_t*>(std::malloc(cap + kInputPadding));
  if (!p) std::abort();
  std::memset(p + cap, 0, kInputPadding);
  return p;
}

InputPool::InputPool(uint32_t buffer_size, size_t max_kept)
    : buffer_size_(buffer_size), max_kept_(max_kept) {
  assert(buffer_size > 0 && buffer_size <= kInputRingMax);
}

InputPool::~InputPool() {
  for (uint8_t* p : free_) std::free(p);
}

uint8_t* InputPool::take() {
  if (free_.empty()) return alloc_buffer(buffer_size_);
  uint8_t* p = free_.back();
  free_.pop_back();
  return p;
}

void InputPool::give(uint8_t* buf) {
  if (free_.size() < max_kept_) {
    free_.push_back(buf);
  } else {
    std::free(buf);
  }
}

InputRing::InputRing(InputRing&& o) noexcept
    : buf_(std::exchange(o.buf_, nullptr)),
      rd_(std::exchange(o.rd_, 0)),
      wr_(std::exchange(o.wr_, 0)),
      cap_(std::exchange(o.cap_, 0)) {}

InputRing& InputRing::operator=(InputRing&& o) noexcept {
  if (this != &o) {
    std::free(buf_);
    buf_ = std::exchange(o.buf_, nullptr);
    rd_ = std::exchange(o.rd_, 0);
    wr_ = std::exchange(o.wr_, 0);
    cap_ = std::exchange(o.cap_, 0);
  }
  return *this;
}

InputRing::~InputRing() {
  std::free(buf_);
}

void InputRing::consume(size_t n) {
  assert(n <= readable());
  rd_ += static_cast<uint32_t>(n);
  // Rewinding an empty ring is free and keeps the whole buffer writable.
  if (rd_ == wr_) rd_ = wr_ = 0;
  check();
}

void InputRing::produced(size_t n) {
  assert(n <= writable());
  wr_ += static_cast<uint32_t>(n);
  check();
}

bool InputRing::reserve(size_t min_writable, size_t cap_limit, InputPool& pool) {
  check();
  if (buf_ && writable() >= min_writable) return true;
  const size_t unread = readable();
  if (min_writable > kInputRingMax - unread) return false;
  const size_t need = unread + min_writable;
  if (!buf_ && need <= pool.buffer_size()) {
    buf_ = pool.take();
    cap_ = pool.buffer_size();
    check();
    return true;
  }
  if (buf_ && need <= cap_) {
    // The wrap rule: move only the unread tail, to the front.
    std::memmove(buf_, buf_ + rd_, unread);
    rd_ = 0;
    wr_ = static_cast<uint32_t>(unread);
    check();
    return true;
  }
  if (need > cap_limit) return false;
  // Powers of two avoid regrowing for every few more bytes of a large frame;
  // the clamp keeps a max-size message from costing twice the limit.
  size_t cap = std::min(std::bit_ceil(need), std::min(cap_limit, kInputRingMax));
  uint8_t* grown = alloc_buffer(cap);
  if (unread) std::memcpy(grown, buf_ + rd_, unread);
  if (buf_) drop_buffer(pool);
  buf_ = grown;
  rd_ = 0;
  wr_ = static_cast<uint32_t>(unread);
  cap_ = static_cast<uint32_t>(cap);
  check();
  return true;
}

void InputRing::drop_buffer(InputPool& pool) {
  // Grown buffers are always larger than pooled ones (growth happens only
  // past the pooled size), so the capacity tells them apart.
  if (cap_ == pool.buffer_size()) {
    pool.give(buf_);
  } else {
    std::free(buf_);
  }
  buf_ = nullptr;
  rd_ = wr_ = cap_ = 0;
}

void InputRing::release_if_empty(InputPool& pool) {
  if (buf_ && rd_ == wr_) drop_buffer(pool);
  check();
}

void InputRing::release(InputPool& pool) {
  if (buf_) drop_buffer(pool);
  check();
}

}  // namespace chatd
