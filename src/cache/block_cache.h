// SPDX-License-Identifier: Apache-2.0
// BlockCache: a sharded, byte-bounded LRU cache of uncompressed data blocks (docs/design.md §8).
// The LRU order is approximated with second chance (CLOCK): a hit only marks its entry, and
// eviction from the cold end moves marked entries back to the front instead of evicting them.
//
// Entries are keyed by (owner id, block offset): every SstReader takes a unique id from
// NewId(), so a lookup builds no string key. Values are opaque to the cache
// (shared_ptr<const void>; the SST reader stores its decoded blocks, format/block.h, and casts
// back), charged the bytes the inserter says; an entry evicted (or replaced) while a reader
// still uses it stays alive until the reader drops it. The cache sits below src/format.
// Capacity is split evenly over the shards; an entry larger than a shard is not cached.
//
// Thread-safety: every method is safe for concurrent use; each shard has its own mutex, held
// only for map and list updates (never across I/O or decompression).
#ifndef CLOUDKV_CACHE_BLOCK_CACHE_H_
#define CLOUDKV_CACHE_BLOCK_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cloudkv {

class BlockCache {
 public:
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t inserts = 0;
    uint64_t evictions = 0;
    uint64_t bytes = 0;    // charge of the entries held now
    uint64_t entries = 0;  // entries held now
    uint64_t capacity_bytes = 0;
  };

  // A cache holding at most capacity_bytes of charge, in 2^num_shard_bits shards.
  // REQUIRES: 0 <= num_shard_bits <= 10.
  static std::shared_ptr<BlockCache> Create(size_t capacity_bytes, int num_shard_bits = 4);

  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A process-unique owner id for keys (never 0).
  uint64_t NewId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  // The cached block, or null on a miss. Counts a hit or (if count_miss) a miss: a probe that
  // is followed by a real read on a miss does not count its miss twice.
  std::shared_ptr<const void> Lookup(uint64_t id, uint64_t offset, bool count_miss = true);
  // True if the entry is cached, without counting a hit or a miss or refreshing it.
  bool Contains(uint64_t id, uint64_t offset);
  // Inserts (or refreshes) an entry charged `charge` bytes, evicting least recently used
  // entries of its shard to stay within capacity. If the key is cached already the existing
  // block is kept.
  void Insert(uint64_t id, uint64_t offset, std::shared_ptr<const void> block, size_t charge);
  // Inserts an entry only into spare capacity: never evicts anything for it. The entry goes
  // to the cold end of its shard's LRU list, so it is the first to go once the cache is under
  // pressure unless a lookup hits it first. Used to prepopulate the cache with the blocks of
  // SSTs this process writes. Returns false if the shard had no room (or the key was cached).
  bool InsertIfRoom(uint64_t id, uint64_t offset, std::shared_ptr<const void> block, size_t charge);
  // Drops the entry if cached (a user still holding the block keeps it alive).
  void Erase(uint64_t id, uint64_t offset);
  // Drops every entry (entries in use stay alive with their users).
  void Clear();

  Stats GetStats() const;
  size_t capacity_bytes() const { return capacity_bytes_; }

 private:
  class Shard;
  BlockCache(size_t capacity_bytes, int num_shard_bits);
  Shard& ShardFor(uint64_t hash) {
    return shard_shift_ >= 64 ? *shards_[0] : *shards_[hash >> shard_shift_];
  }

  const size_t capacity_bytes_;
  const int shard_shift_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace cloudkv

#endif  // CLOUDKV_CACHE_BLOCK_CACHE_H_
