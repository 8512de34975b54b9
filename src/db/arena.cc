// SPDX-License-Identifier: Apache-2.0
#include "db/arena.h"

namespace cloudkv {

Arena::Arena(size_t block_bytes) : block_bytes_(block_bytes) {
  assert(block_bytes >= kMinBlockBytes && block_bytes <= kMaxBlockBytes);
  memory_usage_.store(sizeof(*this), std::memory_order_relaxed);
}

char* Arena::AllocateFallback(size_t bytes, bool aligned) {
  // new[] of char returns memory aligned for any fundamental type, so every block starts
  // aligned.
  if (bytes > block_bytes_ / 4) {
    // A large object gets a block of its own, so the rest of the current block is not wasted.
    return NewBlock(bytes);
  }
  // Start a new block; what was left of the old one (under a quarter block) is abandoned.
  char* block = NewBlock(block_bytes_);
  free_begin_ = block;
  free_end_ = block + block_bytes_;
  char* result = aligned ? AllocateAligned(bytes) : Allocate(bytes);
  assert(result != nullptr);
  return result;
}

char* Arena::NewBlock(size_t bytes) {
  blocks_.push_back(std::make_unique_for_overwrite<char[]>(bytes));
  memory_usage_.fetch_add(bytes + sizeof(std::unique_ptr<char[]>), std::memory_order_relaxed);
  return blocks_.back().get();
}

}  // namespace cloudkv
