// SPDX-License-Identifier: Apache-2.0
// MemTable: the in-memory write buffer of the LSM tree, a skiplist of internal-key entries kept
// in an arena (docs/design.md §5). Entries are never removed; a full or old memtable is made
// immutable by the engine, flushed to an L0 SST, and dropped.
//
// Point lookups go through a hash index (user key -> that key's newest point entry) beside the
// skiplist: a Get costs a bucket, a chain node and the entry, instead of a skiplist descent of
// ~log4(n) levels with a cache miss and a key comparison each, and a key absent from the
// memtable is known absent from its bucket alone. A Get at a snapshot older than the newest
// entry of its key (an old snapshot, or a write not yet visible) falls back to the skiplist.
//
// Range tombstones (kTypeRangeDeletion) live in a second skiplist of the same arena, apart
// from point entries: point lookups and point iterators never step over them, and a memtable
// without any costs nothing extra. Readers get them fragmented (GetRangeTombstones), built on
// first use and cached until the next range tombstone is added.
//
// Thread-safety: one writer (Add, InsertBatch, the setters) at a time, any number of
// concurrent readers (Get, NewIterator, the accessors) without locks. A reader sees every
// entry added before it started and may or may not see entries added concurrently.
//
// Ownership: usually held by std::shared_ptr (std::make_shared<MemTable>()); an iterator then
// keeps the memtable alive on its own. A memtable not owned by a shared_ptr must outlive its
// iterators.
#ifndef CLOUDKV_DB_MEMTABLE_H_
#define CLOUDKV_DB_MEMTABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "cloudkv/iterator.h"
#include "cloudkv/status.h"
#include "cloudkv/write_batch.h"
#include "db/arena.h"
#include "db/range_tombstone.h"
#include "db/skiplist.h"
#include "format/dbformat.h"

namespace cloudkv {

class MemTable : public std::enable_shared_from_this<MemTable> {
 public:
  // Limits on what one entry may hold (the engine's Options limits are lower).
  static constexpr size_t kMaxKeyBytes = (1u << 30) - 8;
  static constexpr size_t kMaxValueBytes = 1u << 30;

  // `index_buckets`: buckets of the point index, rounded up to a power of two (at least 16);
  // about one per expected distinct key keeps chains short. It costs 8 bytes each, counted in
  // ApproximateMemoryUsage.
  explicit MemTable(size_t arena_block_bytes = Arena::kDefaultBlockBytes,
                    size_t index_buckets = 4096);
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;
  ~MemTable() = default;

  // Adds an entry. For kTypeRangeDeletion, user_key is the begin and value the exclusive end of
  // the deleted range. REQUIRES: no entry with the same (user_key, seq, type) exists; seq <=
  // kMaxSequenceNumber; key/value within the limits above; no concurrent writer.
  void Add(SequenceNumber seq, ValueType type, std::string_view user_key, std::string_view value);

  // Finds the newest point entry for user_key with sequence <= snapshot: kFound (value copied
  // into result->value), kDeleted, or kNotPresent (result untouched but for state). Range
  // tombstones are not applied here: the caller combines the point entry with
  // GetRangeTombstones() of this and every newer source.
  void Get(std::string_view user_key, SequenceNumber snapshot, LookupResult* result) const;

  // An iterator over the point entries (kTypeValue, kTypeDeletion): key() is the internal key,
  // value() the value. Ordered by CompareInternalKeys. Its status is always OK. The returned
  // views stay valid as long as the memtable lives.
  std::unique_ptr<Iterator> NewIterator() const;
  // An iterator over the range tombstones, unfragmented, as added: key() is the internal key
  // (begin, seq, kTypeRangeDeletion), value() the exclusive end key. Same contract otherwise.
  std::unique_ptr<Iterator> NewRangeTombstoneIterator() const;
  // The range tombstones added so far, fragmented, with all their sequences (callers filter
  // by snapshot); null if there are none. Cached: rebuilt only after new range tombstones.
  // Takes a mutex (only when HasRangeDeletions()), never blocks the writer.
  RangeTombstoneListPtr GetRangeTombstones() const;

  // Arena bytes in use (an upper bound of the memtable's memory). Lock-free.
  size_t ApproximateMemoryUsage() const { return arena_.MemoryUsage() + index_bytes_; }
  // Point entries plus range tombstones.
  uint64_t NumEntries() const { return num_entries_.load(std::memory_order_acquire); }
  uint64_t NumRangeDeletions() const {
    return num_range_deletions_.load(std::memory_order_acquire);
  }
  bool HasRangeDeletions() const { return NumRangeDeletions() > 0; }
  bool empty() const { return NumEntries() == 0; }
  // Smallest / largest sequence added. REQUIRES: !empty() (else kMaxSequenceNumber / 0).
  SequenceNumber SmallestSequence() const { return smallest_seq_.load(std::memory_order_acquire); }
  SequenceNumber LargestSequence() const { return largest_seq_.load(std::memory_order_acquire); }

  // Wall-clock time of the first write (set by the engine, which flushes a memtable older than
  // memtable_max_age); 0 until set.
  uint64_t first_write_time_micros() const {
    return first_write_time_micros_.load(std::memory_order_acquire);
  }
  void set_first_write_time_micros(uint64_t micros) {
    first_write_time_micros_.store(micros, std::memory_order_release);
  }

 private:
  // Compares two encoded entries (varint32 length + internal key + ...) by internal key.
  struct EntryComparator {
    int operator()(const char* a, const char* b) const;
  };
  using Table = SkipList<const char*, EntryComparator>;
  class MemTableIterator;

  // One per distinct user key of the point entries, in the arena. `entry` is the key's entry
  // with the largest sequence; the writer replaces it (release) as newer entries arrive.
  struct IndexNode {
    std::atomic<const IndexNode*> next;
    std::atomic<const char*> entry;
    uint32_t hash;  // low half of the key's hash, checked before the key
  };
  // Points the index at `entry` (the point entry just added for user_key at seq).
  void IndexEntry(std::string_view user_key, SequenceNumber seq, const char* entry);
  // The newest point entry of user_key, or null if the memtable has none.
  const char* FindNewest(std::string_view user_key) const;
  // The skiplist part of Get, for snapshots older than the key's newest entry.
  void GetFromSkipList(std::string_view user_key, SequenceNumber snapshot,
                       LookupResult* result) const;

  Arena arena_;
  const size_t index_mask_;  // buckets - 1
  const size_t index_bytes_;
  std::unique_ptr<std::atomic<const IndexNode*>[]> index_;
  Table table_;            // point entries
  Table range_del_table_;  // range tombstones (begin internal key -> end)
  std::atomic<uint64_t> num_entries_{0};
  std::atomic<uint64_t> num_range_deletions_{0};
  std::atomic<SequenceNumber> smallest_seq_{kMaxSequenceNumber};
  std::atomic<SequenceNumber> largest_seq_{0};
  std::atomic<uint64_t> first_write_time_micros_{0};

  // Cache of GetRangeTombstones: the list built when NumRangeDeletions() was cached_count_.
  mutable std::mutex range_del_cache_mu_;
  mutable RangeTombstoneListPtr range_del_cache_;
  mutable uint64_t range_del_cache_count_ = 0;
};

// Applies every record of `batch` to `memtable` with consecutive sequence numbers starting at
// first_seq (the i-th record gets first_seq + i). Returns Corruption if the batch encoding is
// damaged; records before the damage may already be applied, so callers decode untrusted
// batches with WriteBatch::SetData (which validates them) first.
// REQUIRES: first_seq + batch.Count() - 1 <= kMaxSequenceNumber; no concurrent writer.
Status InsertBatchIntoMemTable(const WriteBatch& batch, SequenceNumber first_seq,
                               MemTable* memtable);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_MEMTABLE_H_
