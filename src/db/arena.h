// SPDX-License-Identifier: Apache-2.0
// Arena: a bump allocator that hands out memory from large blocks and frees it all at once
// when the arena is destroyed. The memtable keeps its skiplist nodes and entries here, so an
// insert costs a pointer bump instead of a malloc, and freeing a flushed memtable is a handful
// of block frees.
//
// Thread-safety: Allocate* need external synchronization (the memtable has a single writer).
// MemoryUsage() may be called from any thread at any time without a lock.
#ifndef CLOUDKV_DB_ARENA_H_
#define CLOUDKV_DB_ARENA_H_

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cloudkv {

class Arena {
 public:
  static constexpr size_t kDefaultBlockBytes = 64 * 1024;
  static constexpr size_t kMinBlockBytes = 1024;
  static constexpr size_t kMaxBlockBytes = 64 * 1024 * 1024;
  // Alignment of AllocateAligned (enough for pointers, atomics and 64-bit integers).
  static constexpr size_t kAlignment =
      alignof(std::max_align_t) < 8 ? 8 : alignof(std::max_align_t);

  // REQUIRES: kMinBlockBytes <= block_bytes <= kMaxBlockBytes.
  explicit Arena(size_t block_bytes = kDefaultBlockBytes);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() = default;

  // Returns `bytes` bytes of uninitialized memory, valid until the arena is destroyed, with no
  // alignment guarantee. REQUIRES: bytes > 0.
  char* Allocate(size_t bytes) {
    assert(bytes > 0);
    if (bytes <= static_cast<size_t>(free_end_ - free_begin_)) {
      free_end_ -= bytes;
      return free_end_;
    }
    return AllocateFallback(bytes, /*aligned=*/false);
  }

  // Like Allocate, but the result is aligned to kAlignment.
  char* AllocateAligned(size_t bytes) {
    assert(bytes > 0);
    size_t padding = (kAlignment - (reinterpret_cast<uintptr_t>(free_begin_) & (kAlignment - 1))) &
                     (kAlignment - 1);
    if (bytes + padding <= static_cast<size_t>(free_end_ - free_begin_)) {
      char* result = free_begin_ + padding;
      free_begin_ = result + bytes;
      return result;
    }
    return AllocateFallback(bytes, /*aligned=*/true);
  }

  // Bytes reserved from the system (blocks plus bookkeeping): an upper bound on what the
  // allocations use. Lock-free; never decreases.
  size_t MemoryUsage() const { return memory_usage_.load(std::memory_order_relaxed); }

  size_t block_bytes() const { return block_bytes_; }

 private:
  char* AllocateFallback(size_t bytes, bool aligned);
  char* NewBlock(size_t bytes);

  const size_t block_bytes_;
  // The free range of the current block. Aligned allocations take from its front and unaligned
  // ones from its back, so byte-sized entries never cost padding to the aligned nodes.
  char* free_begin_ = nullptr;
  char* free_end_ = nullptr;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::atomic<size_t> memory_usage_{0};
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_ARENA_H_
