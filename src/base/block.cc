#include "base/block.h"

#include <cstdlib>
#include <new>

namespace chatd {

Block* block_alloc(size_t capacity, size_t headroom) {
  assert(headroom <= capacity && capacity <= UINT32_MAX - sizeof(Block));
  void* mem = std::malloc(sizeof(Block) + capacity);
  if (!mem) return nullptr;
  auto* b = new (mem) Block{1, static_cast<uint32_t>(capacity), static_cast<uint32_t>(headroom),
                            static_cast<uint32_t>(headroom)};
  return b;
}

void block_free(Block* b) {
  std::free(b);
}

}  // namespace chatd
