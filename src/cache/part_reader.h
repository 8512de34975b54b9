// SPDX-License-Identifier: Apache-2.0
// PartReader: reads byte ranges of one immutable object, through the disk cache when there is
// one, with at most one fetch in flight per range (docs/design.md §8).
//
// With a DiskCache, the object is read in the cache's aligned parts: each part of a request is
// served from the disk cache if it holds it, else fetched whole from the store and written to
// the cache. Adjacent missing parts of one request are fetched with one ranged GET. A reader
// that needs a part another thread is fetching waits for that fetch instead of making its own;
// a failed fetch gives its error to every waiter and caches nothing, so the next read tries
// again.
//
// Without a disk cache (or once it disabled itself) a read fetches exactly the range asked for,
// so reads are no bigger than the caller's read unit; concurrent reads of the same range share
// one fetch.
//
// Errors: a failed GET's status as the store returned it (the caller knows what NotFound or a
// bad range means for its object); Corruption naming the object when the store's answer
// contradicts the object size the reader was given.
//
// Thread-safety: every method is safe for concurrent use. The mutex guarding the table of
// fetches in flight is never held across I/O.
#ifndef CLOUDKV_CACHE_PART_READER_H_
#define CLOUDKV_CACHE_PART_READER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cache/disk_cache.h"
#include "cloudkv/object_store.h"
#include "util/mutex.h"

namespace cloudkv {

class PartReader {
 public:
  // Reads the object `object_key` of `store`, object_size bytes long. disk_cache may be null
  // (no disk cache). store_id names the store in the disk cache; empty = store->Describe().
  PartReader(std::shared_ptr<ObjectStore> store, std::string object_key, uint64_t object_size,
             std::shared_ptr<DiskCache> disk_cache, std::string store_id = "");
  PartReader(const PartReader&) = delete;
  PartReader& operator=(const PartReader&) = delete;
  ~PartReader();

  // The bytes [begin, end) of the object. REQUIRES: begin < end <= object_size.
  Result<std::string> ReadRange(uint64_t begin, uint64_t end);

  // GETs this reader sent to the store (failed ones too) and the bytes they returned; disk
  // cache hits and waits for another reader's fetch are not requests.
  uint64_t object_reads() const { return object_reads_.load(std::memory_order_relaxed); }
  uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  const std::string& object_key() const { return object_key_; }
  uint64_t object_size() const { return object_size_; }

 private:
  class Flight;
  using Range = std::pair<uint64_t, uint64_t>;  // [begin, end) of the object

  // One ranged GET, its answer checked against object_size_.
  Result<std::string> Fetch(uint64_t begin, uint64_t end);
  // Reads exactly [begin, end) (no disk cache).
  Result<std::string> ReadExact(uint64_t begin, uint64_t end);
  // Reads [begin, end) part by part through the disk cache.
  Result<std::string> ReadParts(uint64_t begin, uint64_t end);
  // Fetches the parts [first, last] (all claimed by this thread) with one GET, caches them and
  // finishes their flights. Returns the GET's status.
  Status FetchRun(uint64_t first, uint64_t last,
                  const std::map<uint64_t, std::shared_ptr<Flight>>& owned);
  // Removes a finished flight from the table.
  void Land(const Range& range);

  // Constant after construction.
  const std::shared_ptr<ObjectStore> store_;
  const std::string object_key_;
  const uint64_t object_size_;
  const std::shared_ptr<DiskCache> disk_cache_;
  const std::string store_id_;

  std::atomic<uint64_t> object_reads_{0};
  std::atomic<uint64_t> bytes_read_{0};

  Mutex mu_;
  // Fetches in flight, by the range they fetch (a whole part with a disk cache).
  std::map<Range, std::shared_ptr<Flight>> flights_ GUARDED_BY(mu_);
};

}  // namespace cloudkv

#endif  // CLOUDKV_CACHE_PART_READER_H_
