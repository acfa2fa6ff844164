#include "net/output_queue.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "net/socket.h"

namespace chatd {

static_assert(sizeof(uintptr_t) == 8, "a slice's second slot holds offset << 32 | len");

struct OutputQueue::Entries {
  uint32_t cap;  // a power of two, so indices wrap with a mask
  uint32_t head;
};

OutputQueue::Entries* OutputQueue::alloc_entries(uint32_t cap) {
  void* p = std::malloc(sizeof(uint64_t) + size_t{cap} * sizeof(uintptr_t));
  if (!p) std::abort();
  static_assert(sizeof(uint64_t) % alignof(uintptr_t) == 0);
  return static_cast<Entries*>(p);
}

uintptr_t* OutputQueue::slots() const {
  static_assert(sizeof(Entries) == sizeof(uint64_t));
  if (!entries_) return const_cast<uintptr_t*>(&single_);
  return reinterpret_cast<uintptr_t*>(reinterpret_cast<char*>(entries_) + sizeof(Entries));
}
uint32_t OutputQueue::cap() const {
  return entries_ ? entries_->cap : 1;
}
uint32_t OutputQueue::head() const {
  return entries_ ? entries_->head : 0;
}
void OutputQueue::set_head(uint32_t h) {
  if (entries_) entries_->head = h;
}

OutputQueue::Piece OutputQueue::piece(uint32_t i) const {
  const uint32_t mask = cap() - 1;
  const uintptr_t s = slots()[(head() + i) & mask];
  auto* b = reinterpret_cast<Block*>(s & ~kTagBits);
  if (!(s & kSliceBit)) return {b, b->data(), uint32_t(b->size()), 1, false};
  const uint64_t span = slots()[(head() + i + 1) & mask];
  return {b, b->data() + (span >> 32), uint32_t(span), 2, (s & kContBit) != 0};
}

OutputQueue::OutputQueue(OutputQueue&& o) noexcept
    : entries_(std::exchange(o.entries_, nullptr)),
      single_(std::exchange(o.single_, 0)),
      bytes_(std::exchange(o.bytes_, 0)),
      count_(std::exchange(o.count_, 0)),
      offset_(std::exchange(o.offset_, 0)) {}

OutputQueue& OutputQueue::operator=(OutputQueue&& o) noexcept {
  if (this != &o) {
    clear();
    entries_ = std::exchange(o.entries_, nullptr);
    single_ = std::exchange(o.single_, 0);
    bytes_ = std::exchange(o.bytes_, 0);
    count_ = std::exchange(o.count_, 0);
    offset_ = std::exchange(o.offset_, 0);
  }
  return *this;
}

void OutputQueue::grow() {
  uint32_t old_cap = cap();
  uint32_t new_cap = entries_ ? old_cap * 2 : kMinEntries;
  Entries* e = alloc_entries(new_cap);
  e->cap = new_cap;
  e->head = 0;
  auto* dst = reinterpret_cast<uintptr_t*>(reinterpret_cast<char*>(e) + sizeof(Entries));
  // Unroll the ring into the front of the new array, oldest first; a
  // slice's two slots stay next to each other.
  for (uint32_t i = 0; i < count_; ++i) dst[i] = slots()[(head() + i) & (old_cap - 1)];
  std::free(entries_);
  entries_ = e;
  single_ = 0;
}

void OutputQueue::reserve(uint32_t n) {
  while (cap() - count_ < n) grow();
}

void OutputQueue::push_slot(uintptr_t s) {
  slots()[(head() + count_) & (cap() - 1)] = s;
  ++count_;
}

void OutputQueue::push(BlockRef block) {
  if (!block || block->size() == 0) return;
  reserve(1);
  bytes_ += block->size();
  push_slot(reinterpret_cast<uintptr_t>(block.release()));
}

void OutputQueue::push_message(std::span<const BlockSlice> pieces) {
  // Two slots per slice, never inline; one reserve so the array grows at
  // most once per message.
  reserve(std::max<uint32_t>(uint32_t(2 * pieces.size()), 2));
  bool first = true;
  for (const BlockSlice& p : pieces) {
    if (p.len == 0) continue;
    assert(p.block && size_t{p.offset} + p.len <= p.block->size());
    Block* b = p.block.get();
    static_assert(alignof(Block) > kTagBits, "the tag bits are free in a Block*");
    block_retain(b);
    push_slot(reinterpret_cast<uintptr_t>(b) | kSliceBit | (first ? 0 : kContBit));
    push_slot(uintptr_t{p.offset} << 32 | p.len);
    bytes_ += p.len;
    first = false;
  }
  if (count_ == 0) drained();
}

size_t OutputQueue::blocks() const {
  size_t n = 0;
  for (uint32_t i = 0; i < count_; i += piece(i).width) ++n;
  return n;
}

void OutputQueue::pop_front() {
  const Piece p = piece(0);
  set_head((head() + p.width) & (cap() - 1));
  count_ -= p.width;
  offset_ = 0;
  block_release(p.block);
  if (count_ == 0) drained();
}

void OutputQueue::drained() {
  bytes_ = 0;
  offset_ = 0;
  set_head(0);
  if (cap() > kKeepEntries) {
    std::free(entries_);
    entries_ = nullptr;
  }
}

// Walks the queue from the unsent part of the head. A small frame is first
// referenced; only when a second small one follows are both copied into the
// scratch, and further small ones appended to that run, so a lone frame is
// never copied for nothing. A frame that no longer fits in the scratch goes
// by reference.
int OutputQueue::gather(iovec* iov, size_t room, FlushScratch* scratch, size_t& asked,
                        size_t& copied) const {
  enum class Last : uint8_t { none, large, small_ref, run };
  Last last = Last::none;
  const size_t copy_max = scratch ? scratch->copy_max() : 0;
  char* buf = nullptr;  // the scratch, fetched (and allocated) with the first run
  const size_t cap_bytes = copy_max ? scratch->capacity() : 0;
  size_t used = 0;  // scratch bytes filled
  int n = 0;
  asked = 0;
  for (uint32_t i = 0; i < count_ && asked < room;) {
    const Piece p = piece(i);
    const size_t skip = (i == 0) ? offset_ : 0;
    i += p.width;
    const size_t len = std::min(p.len - skip, room - asked);
    const char* src = p.data + skip;
    if (len <= copy_max) {
      if (last == Last::run && used + len <= cap_bytes) {
        std::memcpy(buf + used, src, len);
        used += len;
        iov[n - 1].iov_len += len;
        copied += len;
        asked += len;
        continue;
      }
      if (last == Last::small_ref && used + iov[n - 1].iov_len + len <= cap_bytes) {
        // The previous frame was small too: start a run with both.
        if (!buf) buf = scratch->data();
        char* run = buf + used;
        const size_t prev = iov[n - 1].iov_len;
        std::memcpy(run, iov[n - 1].iov_base, prev);
        std::memcpy(run + prev, src, len);
        used += prev + len;
        iov[n - 1] = {run, prev + len};
        copied += prev + len;
        asked += len;
        last = Last::run;
        continue;
      }
    }
    if (n == kMaxIov) break;
    iov[n++] = {const_cast<char*>(src), len};
    asked += len;
    last = len <= copy_max ? Last::small_ref : Last::large;
  }
  return n;
}

FlushResult OutputQueue::flush(int fd, size_t budget, FlushScratch* scratch) {
  FlushResult res;
  while (count_ > 0 && res.written < budget) {
    iovec iov[kMaxIov];
    size_t asked = 0;
    const int n = gather(iov, budget - res.written, scratch, asked, res.copied);
    ++res.writes;
    res.iovecs += uint32_t(n);
    long r = writev_some(fd, iov, n);
    if (r < 0) {
      if (r == -EAGAIN || r == -EWOULDBLOCK) {
        res.would_block = true;
      } else {
        res.error = r;
      }
      return res;
    }
    size_t sent = static_cast<size_t>(r);
    res.written += sent;
    bytes_ -= sent;
    // Retire every block the write finished; the last may be partly sent.
    // The scratch only mirrored these bytes, so nothing else needs undoing.
    while (sent > 0) {
      size_t left = piece(0).len - offset_;
      if (sent < left) {
        offset_ += static_cast<uint32_t>(sent);
        break;
      }
      sent -= left;
      pop_front();
    }
    if (static_cast<size_t>(r) < asked) {
      res.would_block = true;
      return res;
    }
  }
  return res;
}

void OutputQueue::drop_unstarted() {
  // A head with kContBit is started too: the pieces of its message before
  // it are gone, so they were written.
  uint32_t keep = 0;
  if (count_ > 0) {
    const Piece h = piece(0);
    if (offset_ > 0 || h.cont) {
      keep = h.width;
      while (keep < count_) {
        const Piece p = piece(keep);
        if (!p.cont) break;
        keep += p.width;
      }
    }
  }
  for (uint32_t i = keep; i < count_;) {
    const Piece p = piece(i);
    bytes_ -= p.len;  // never the head when it is partly written
    block_release(p.block);
    i += p.width;
  }
  count_ = keep;
  if (count_ == 0) drained();
}

void OutputQueue::clear() {
  while (count_ > 0) pop_front();
  std::free(entries_);
  entries_ = nullptr;
  bytes_ = 0;
  offset_ = 0;
}

size_t OutputQueue::release_spare() {
  if (count_ > 0 || !entries_) return 0;
  const size_t freed = memory_bytes();
  std::free(entries_);
  entries_ = nullptr;
  return freed;
}

size_t OutputQueue::memory_bytes() const {
  return entries_ ? sizeof(Entries) + size_t{cap()} * sizeof(uintptr_t)
                  : 0;  // the inline slot is not heap
}

}  // namespace chatd
