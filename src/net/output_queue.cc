#include "net/output_queue.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "net/socket.h"

namespace chatd {

struct OutputQueue::Entries {
  uint32_t cap;  // a power of two, so indices wrap with a mask
  uint32_t head;
};

OutputQueue::Entries* OutputQueue::alloc_entries(uint32_t cap) {
  void* p = std::malloc(sizeof(uint64_t) + size_t{cap} * sizeof(Block*));
  if (!p) std::abort();
  static_assert(sizeof(uint64_t) % alignof(Block*) == 0);
  return static_cast<Entries*>(p);
}

Block** OutputQueue::slots() const {
  static_assert(sizeof(Entries) == sizeof(uint64_t));
  if (!entries_) return const_cast<Block**>(&single_);
  return reinterpret_cast<Block**>(reinterpret_cast<char*>(entries_) + sizeof(Entries));
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

OutputQueue::OutputQueue(OutputQueue&& o) noexcept
    : entries_(std::exchange(o.entries_, nullptr)),
      single_(std::exchange(o.single_, nullptr)),
      bytes_(std::exchange(o.bytes_, 0)),
      count_(std::exchange(o.count_, 0)),
      offset_(std::exchange(o.offset_, 0)) {}

OutputQueue& OutputQueue::operator=(OutputQueue&& o) noexcept {
  if (this != &o) {
    clear();
    entries_ = std::exchange(o.entries_, nullptr);
    single_ = std::exchange(o.single_, nullptr);
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
  Block** dst = reinterpret_cast<Block**>(reinterpret_cast<char*>(e) + sizeof(Entries));
  // Unroll the ring into the front of the new array, oldest first.
  for (uint32_t i = 0; i < count_; ++i) dst[i] = slots()[(head() + i) & (old_cap - 1)];
  std::free(entries_);
  entries_ = e;
  single_ = nullptr;
}

void OutputQueue::push(BlockRef block) {
  if (!block || block->size() == 0) return;
  if (count_ == cap()) grow();
  slots()[(head() + count_) & (cap() - 1)] = block.get();
  bytes_ += block->size();
  ++count_;
  block.release();
}

void OutputQueue::pop_front() {
  Block* b = slots()[head()];
  set_head((head() + 1) & (cap() - 1));
  --count_;
  offset_ = 0;
  block_release(b);
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
  const uint32_t mask = cap() - 1;
  for (uint32_t i = 0; i < count_ && asked < room; ++i) {
    const Block* b = slots()[(head() + i) & mask];
    const size_t skip = (i == 0) ? offset_ : 0;
    const size_t len = std::min(b->size() - skip, room - asked);
    const char* src = b->data() + skip;
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
      Block* b = slots()[head()];
      size_t left = b->size() - offset_;
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
  size_t keep = (count_ > 0 && offset_ > 0) ? 1 : 0;
  while (count_ > keep) {
    // Release from the tail: the head (partly written) stays in place.
    uint32_t tail = (head() + count_ - 1) & (cap() - 1);
    Block* b = slots()[tail];
    bytes_ -= b->size();  // never the head when it is partly written
    --count_;
    block_release(b);
  }
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
  return entries_ ? sizeof(Entries) + size_t{cap()} * sizeof(Block*)
                  : 0;  // the inline slot is not heap
}

}  // namespace chatd
