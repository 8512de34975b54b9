// SPDX-License-Identifier: Apache-2.0
// Sharded LRU. Each shard indexes its entries in an open-addressing table (linear probing, a
// power of two in size, at most half full, the key inline in the slot), so a lookup reads one
// slot and, on a hit, the entry: std::unordered_map took a modulo and two or three dependent
// cache misses (bucket, the node before, the node) before the entry. Entries are allocated one
// by one, so they do not move when the table grows or shifts, and are threaded on an intrusive
// circular doubly linked list (most recently used after the list head).
#include "cache/block_cache.h"

#include <algorithm>
#include <cassert>
#include <vector>

#include "util/mutex.h"

namespace cloudkv {
namespace {

struct CacheKey {
  uint64_t id;
  uint64_t offset;
  bool operator==(const CacheKey& other) const { return id == other.id && offset == other.offset; }
};

inline uint64_t HashKey(uint64_t id, uint64_t offset) {
  uint64_t x = id * 0x9e3779b97f4a7c15ull ^ (offset + 0x632be59bd9b4e019ull);
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  return x;
}

inline uint64_t HashKey(const CacheKey& key) { return HashKey(key.id, key.offset); }

}  // namespace

class BlockCache::Shard {
 public:
  explicit Shard(size_t capacity) : capacity_(capacity) { head_.prev = head_.next = &head_; }
  ~Shard() {
    for (Slot& slot : slots_) delete slot.entry;
  }

  // `hash` is HashKey(key) throughout.
  std::shared_ptr<const void> Lookup(const CacheKey& key, uint64_t hash, bool count_miss) {
    MutexLock lock(&mu_);
    Entry* e = FindLocked(key, hash);
    if (e == nullptr) {
      if (count_miss) misses_++;
      return nullptr;
    }
    hits_++;
    // Second chance instead of a move to the front: a hit touches only its own entry, not its
    // list neighbours (three more cache misses on a large cache).
    e->referenced = true;
    return e->block;
  }

  bool Contains(const CacheKey& key, uint64_t hash) {
    MutexLock lock(&mu_);
    return FindLocked(key, hash) != nullptr;
  }

  void Insert(const CacheKey& key, uint64_t hash, std::shared_ptr<const void> block,
              size_t charge) {
    // Blocks evicted here are released after the lock is dropped: freeing memory is not
    // work to do under the shard mutex.
    std::vector<std::shared_ptr<const void>> evicted;
    {
      MutexLock lock(&mu_);
      if (charge > capacity_) return;
      if (Entry* existing = FindLocked(key, hash); existing != nullptr) {
        existing->referenced = true;
        return;
      }
      Entry* e = AddLocked(key, hash, std::move(block), charge);
      LinkFront(e);
      // From the cold end: an entry hit since it was last here goes back to the front with its
      // mark cleared, the first unmarked one is evicted. The new entry is never the victim
      // (it is passed over like a marked one), so this stops when it is the only one left.
      while (usage_ > capacity_ && entries_ > 1) {
        Entry* victim = head_.prev;
        if (victim->referenced || victim == e) {
          victim->referenced = false;
          Unlink(victim);
          LinkFront(victim);
          continue;
        }
        evictions_++;
        evicted.push_back(RemoveLocked(victim));
      }
    }
  }

  bool InsertIfRoom(const CacheKey& key, uint64_t hash, std::shared_ptr<const void> block,
                    size_t charge) {
    MutexLock lock(&mu_);
    if (usage_ + charge > capacity_) return false;
    if (FindLocked(key, hash) != nullptr) return false;
    LinkBack(AddLocked(key, hash, std::move(block), charge));
    return true;
  }

  void Erase(const CacheKey& key, uint64_t hash) {
    std::shared_ptr<const void> erased;  // released after the lock is dropped
    MutexLock lock(&mu_);
    Entry* e = FindLocked(key, hash);
    if (e == nullptr) return;
    erased = RemoveLocked(e);
  }

  void Clear() {
    std::vector<Slot> old;
    {
      MutexLock lock(&mu_);
      old.swap(slots_);
      head_.prev = head_.next = &head_;
      usage_ = 0;
      entries_ = 0;
    }
    for (Slot& slot : old) delete slot.entry;
  }

  void AddStats(Stats* s) {
    MutexLock lock(&mu_);
    s->hits += hits_;
    s->misses += misses_;
    s->inserts += inserts_;
    s->evictions += evictions_;
    s->bytes += usage_;
    s->entries += entries_;
  }

 private:
  struct Entry {
    CacheKey key{};
    std::shared_ptr<const void> block;
    size_t charge = 0;
    bool referenced = false;  // hit since it last passed the cold end
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };
  struct Slot {
    CacheKey key{};
    Entry* entry = nullptr;  // owned; null: the slot is empty
  };

  Entry* FindLocked(const CacheKey& key, uint64_t hash) REQUIRES(mu_) {
    if (slots_.empty()) return nullptr;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.entry == nullptr) return nullptr;  // the table is never full
      if (slot.key == key) return slot.entry;
    }
  }

  // Indexes a new entry (the key is not cached) and counts it; the caller links it.
  Entry* AddLocked(const CacheKey& key, uint64_t hash, std::shared_ptr<const void> block,
                   size_t charge) REQUIRES(mu_) {
    if ((entries_ + 1) * 2 > slots_.size()) GrowLocked();
    auto* e = new Entry;
    e->key = key;
    e->block = std::move(block);
    e->charge = charge;
    PlaceLocked(e, hash);
    entries_++;
    usage_ += charge;
    inserts_++;
    return e;
  }

  void PlaceLocked(Entry* e, uint64_t hash) REQUIRES(mu_) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].entry != nullptr) i = (i + 1) & mask;
    slots_[i] = Slot{e->key, e};
  }

  void GrowLocked() REQUIRES(mu_) {
    std::vector<Slot> old(std::max<size_t>(16, slots_.size() * 2));
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.entry != nullptr) PlaceLocked(slot.entry, HashKey(slot.key));
    }
  }

  // Unlinks, unindexes and frees `e`; returns its block for the caller to release unlocked.
  std::shared_ptr<const void> RemoveLocked(Entry* e) REQUIRES(mu_) {
    const size_t mask = slots_.size() - 1;
    size_t hole = HashKey(e->key) & mask;
    while (slots_[hole].entry != e) hole = (hole + 1) & mask;
    slots_[hole].entry = nullptr;
    // Backward shift: a later entry of the probe run moves into the hole unless its home slot
    // lies cyclically in (hole, j], where a lookup for it would stop at the hole first.
    for (size_t j = (hole + 1) & mask; slots_[j].entry != nullptr; j = (j + 1) & mask) {
      const size_t home = HashKey(slots_[j].key) & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots_[hole] = slots_[j];
        slots_[j].entry = nullptr;
        hole = j;
      }
    }
    Unlink(e);
    usage_ -= e->charge;
    entries_--;
    std::shared_ptr<const void> block = std::move(e->block);
    delete e;
    return block;
  }

  void Unlink(Entry* e) REQUIRES(mu_) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  void LinkFront(Entry* e) REQUIRES(mu_) {
    e->next = head_.next;
    e->prev = &head_;
    head_.next->prev = e;
    head_.next = e;
  }
  void LinkBack(Entry* e) REQUIRES(mu_) {  // the least recently used end
    e->prev = head_.prev;
    e->next = &head_;
    head_.prev->next = e;
    head_.prev = e;
  }

  const size_t capacity_;
  Mutex mu_;
  std::vector<Slot> slots_ GUARDED_BY(mu_);  // empty, or a power of two at most half full
  size_t entries_ GUARDED_BY(mu_) = 0;
  Entry head_ GUARDED_BY(mu_);  // list sentinel
  size_t usage_ GUARDED_BY(mu_) = 0;
  uint64_t hits_ GUARDED_BY(mu_) = 0;
  uint64_t misses_ GUARDED_BY(mu_) = 0;
  uint64_t inserts_ GUARDED_BY(mu_) = 0;
  uint64_t evictions_ GUARDED_BY(mu_) = 0;
};

std::shared_ptr<BlockCache> BlockCache::Create(size_t capacity_bytes, int num_shard_bits) {
  assert(num_shard_bits >= 0 && num_shard_bits <= 10);
  return std::shared_ptr<BlockCache>(new BlockCache(capacity_bytes, num_shard_bits));
}

BlockCache::BlockCache(size_t capacity_bytes, int num_shard_bits)
    : capacity_bytes_(capacity_bytes), shard_shift_(64 - num_shard_bits) {
  const size_t n = size_t{1} << num_shard_bits;
  shards_.reserve(n);
  for (size_t i = 0; i < n; i++) shards_.push_back(std::make_unique<Shard>(capacity_bytes / n));
}

BlockCache::~BlockCache() = default;

std::shared_ptr<const void> BlockCache::Lookup(uint64_t id, uint64_t offset, bool count_miss) {
  const uint64_t hash = HashKey(id, offset);
  return ShardFor(hash).Lookup(CacheKey{id, offset}, hash, count_miss);
}

bool BlockCache::Contains(uint64_t id, uint64_t offset) {
  const uint64_t hash = HashKey(id, offset);
  return ShardFor(hash).Contains(CacheKey{id, offset}, hash);
}

void BlockCache::Insert(uint64_t id, uint64_t offset, std::shared_ptr<const void> block,
                        size_t charge) {
  assert(block != nullptr);
  const uint64_t hash = HashKey(id, offset);
  ShardFor(hash).Insert(CacheKey{id, offset}, hash, std::move(block), charge);
}

bool BlockCache::InsertIfRoom(uint64_t id, uint64_t offset, std::shared_ptr<const void> block,
                              size_t charge) {
  assert(block != nullptr);
  const uint64_t hash = HashKey(id, offset);
  return ShardFor(hash).InsertIfRoom(CacheKey{id, offset}, hash, std::move(block), charge);
}

void BlockCache::Erase(uint64_t id, uint64_t offset) {
  const uint64_t hash = HashKey(id, offset);
  ShardFor(hash).Erase(CacheKey{id, offset}, hash);
}

void BlockCache::Clear() {
  for (auto& s : shards_) s->Clear();
}

BlockCache::Stats BlockCache::GetStats() const {
  Stats s;
  for (auto& shard : shards_) shard->AddStats(&s);
  s.capacity_bytes = capacity_bytes_;
  return s;
}

}  // namespace cloudkv
