// Sharded LRU. Each shard is an unordered_map of entries threaded on an intrusive circular
// doubly linked list (most recently used after the list head); map nodes do not move on
// rehash, so the list can point into the map.
#include "cache/block_cache.h"

#include <cassert>
#include <unordered_map>

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

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const { return HashKey(k.id, k.offset); }
};

}  // namespace

class BlockCache::Shard {
 public:
  explicit Shard(size_t capacity) : capacity_(capacity) { head_.prev = head_.next = &head_; }

  std::shared_ptr<const Block> Lookup(const CacheKey& key) {
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      misses_++;
      return nullptr;
    }
    hits_++;
    // Second chance instead of a move to the front: a hit touches only its own entry, not its
    // list neighbours (three more cache misses on a large cache).
    Entry* e = &it->second;
    e->referenced = true;
    return e->block;
  }

  bool Contains(const CacheKey& key) {
    MutexLock lock(&mu_);
    return map_.count(key) != 0;
  }

  void Insert(const CacheKey& key, std::shared_ptr<const Block> block, size_t charge) {
    // Blocks evicted here are released after the lock is dropped: freeing memory is not
    // work to do under the shard mutex.
    std::vector<std::shared_ptr<const Block>> evicted;
    {
      MutexLock lock(&mu_);
      if (charge > capacity_) return;
      auto [it, inserted] = map_.try_emplace(key);
      Entry* e = &it->second;
      if (!inserted) {
        e->referenced = true;
        return;
      }
      FillLocked(e, key, std::move(block), charge);
      LinkFront(e);
      // From the cold end: an entry hit since it was last here goes back to the front with its
      // mark cleared, the first unmarked one is evicted. The new entry is never the victim
      // (it is passed over like a marked one), so this stops when it is the only one left.
      while (usage_ > capacity_ && map_.size() > 1) {
        Entry* victim = head_.prev;
        if (victim->referenced || victim == e) {
          victim->referenced = false;
          Unlink(victim);
          LinkFront(victim);
          continue;
        }
        Unlink(victim);
        usage_ -= victim->charge;
        evictions_++;
        evicted.push_back(std::move(victim->block));
        const CacheKey victim_key = victim->key;
        map_.erase(victim_key);
      }
    }
  }

  bool InsertIfRoom(const CacheKey& key, std::shared_ptr<const Block> block, size_t charge) {
    MutexLock lock(&mu_);
    if (usage_ + charge > capacity_) return false;
    auto [it, inserted] = map_.try_emplace(key);
    if (!inserted) return false;
    Entry* e = &it->second;
    FillLocked(e, key, std::move(block), charge);
    LinkBack(e);
    return true;
  }

  void Erase(const CacheKey& key) {
    std::shared_ptr<const Block> erased;  // released after the lock is dropped
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return;
    Entry* e = &it->second;
    Unlink(e);
    usage_ -= e->charge;
    erased = std::move(e->block);
    map_.erase(it);
  }

  void Clear() {
    std::unordered_map<CacheKey, Entry, CacheKeyHash> old;
    {
      MutexLock lock(&mu_);
      old.swap(map_);
      head_.prev = head_.next = &head_;
      usage_ = 0;
    }
  }

  void AddStats(Stats* s) {
    MutexLock lock(&mu_);
    s->hits += hits_;
    s->misses += misses_;
    s->inserts += inserts_;
    s->evictions += evictions_;
    s->bytes += usage_;
    s->entries += map_.size();
  }

 private:
  struct Entry {
    CacheKey key{};
    std::shared_ptr<const Block> block;
    size_t charge = 0;
    bool referenced = false;  // hit since it last passed the cold end
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };

  // A new map entry: its contents and the shard's accounting (the caller links it).
  void FillLocked(Entry* e, const CacheKey& key, std::shared_ptr<const Block> block, size_t charge)
      REQUIRES(mu_) {
    e->key = key;
    e->block = std::move(block);
    e->charge = charge;
    usage_ += charge;
    inserts_++;
  }
  void Unlink(Entry* e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  void LinkFront(Entry* e) {
    e->next = head_.next;
    e->prev = &head_;
    head_.next->prev = e;
    head_.next = e;
  }
  void LinkBack(Entry* e) {  // the least recently used end
    e->prev = head_.prev;
    e->next = &head_;
    head_.prev->next = e;
    head_.prev = e;
  }

  const size_t capacity_;
  Mutex mu_;
  std::unordered_map<CacheKey, Entry, CacheKeyHash> map_ GUARDED_BY(mu_);
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

std::shared_ptr<const Block> BlockCache::Lookup(uint64_t id, uint64_t offset) {
  return ShardFor(HashKey(id, offset)).Lookup(CacheKey{id, offset});
}

bool BlockCache::Contains(uint64_t id, uint64_t offset) {
  return ShardFor(HashKey(id, offset)).Contains(CacheKey{id, offset});
}

void BlockCache::Insert(uint64_t id, uint64_t offset, std::shared_ptr<const Block> block,
                        size_t charge) {
  assert(block != nullptr);
  ShardFor(HashKey(id, offset)).Insert(CacheKey{id, offset}, std::move(block), charge);
}

bool BlockCache::InsertIfRoom(uint64_t id, uint64_t offset, std::shared_ptr<const Block> block,
                              size_t charge) {
  assert(block != nullptr);
  return ShardFor(HashKey(id, offset)).InsertIfRoom(CacheKey{id, offset}, std::move(block), charge);
}

void BlockCache::Erase(uint64_t id, uint64_t offset) {
  ShardFor(HashKey(id, offset)).Erase(CacheKey{id, offset});
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
