// SPDX-License-Identifier: Apache-2.0
// SstReader: reads one SST object from an ObjectStore (format: docs/format-sst.md).
//
// Open() fetches the footer and all metadata (filter, range deletions, properties, index) with
// one ranged GET of the object's tail (plus one more if the metadata is larger than the guess),
// verifies the metadata checksum and pins the decoded metadata in memory for the reader's
// lifetime, range tombstones both as stored and fragmented. Data
// blocks are read on demand through the block cache: a miss fetches the aligned read unit
// (read_unit_bytes) around the block and caches every block fully inside it. Iterators read
// ahead while scanning. Every object read goes through a PartReader (cache/part_reader.h): with
// a disk cache it is served from the cache's parts where it can be, else whole parts are
// fetched and cached; concurrent reads of the same cold range or part share one GET.
//
// Bytes from the store are untrusted: any mismatch (checksum, bounds, format) gives a
// Corruption status naming the object key and the offset, never wrong data or a crash.
//
// Thread-safety: after Open, any number of threads may call Get, MayContain and NewIterator
// concurrently; each iterator is for one thread at a time. An iterator keeps its reader alive.
#ifndef CLOUDKV_FORMAT_SST_READER_H_
#define CLOUDKV_FORMAT_SST_READER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/block_cache.h"
#include "cache/disk_cache.h"
#include "cache/part_reader.h"
#include "cloudkv/iterator.h"
#include "cloudkv/object_store.h"
#include "format/block.h"
#include "format/bloom.h"
#include "format/dbformat.h"
#include "format/sst_format.h"
#include "util/thread_pool.h"

namespace cloudkv {

struct SstReadOptions {
  // Cache of uncompressed data blocks, shared between readers; null = no caching.
  std::shared_ptr<BlockCache> cache;
  // Local disk cache of object parts, shared between readers (and DBs); null = none. Object
  // reads are then served from it where it holds their parts, and parts fetched from the store
  // are written to it.
  std::shared_ptr<DiskCache> disk_cache;
  // Block reads fetch the aligned range of this size around the block (and cache all blocks
  // inside it); 0 = fetch exactly the block (and iterators read no further ahead).
  size_t read_unit_bytes = 64 * 1024;
  // Upper bound of an iterator's readahead, which doubles (from read_unit_bytes) on every
  // sequential fetch.
  size_t max_readahead_bytes = 1 << 20;
  // Background reads ahead of sequential forward scans (iterators) run here; null = none.
  ThreadPool* prefetch_pool = nullptr;
  // Read-ahead windows (each up to max_readahead_bytes) a sequential scan keeps in flight on
  // prefetch_pool.
  size_t prefetch_windows = 8;
  // Size of Open's first GET of the object's tail.
  size_t open_tail_bytes = 64 * 1024;
  // The error for a read that finds the object gone (the store answers NotFound); the reader's
  // owner knows why it may be gone. Null: Corruption naming the object. A missing SST is never
  // NotFound to the caller, who would take it for a missing key.
  std::function<Status(const std::string& object_key)> missing_object_status;
};

// The data blocks of an SST being written, decoded and kept so that the block cache can be
// prepopulated once the SST is live (Options::prepopulate_block_cache). What is kept is bounded
// by a byte budget that the SSTs of one job share (across threads); blocks past it are dropped.
// Thread-safety: one RetainedBlocks per SST, filled by one thread; the budget is atomic.
class RetainedBlocks {
 public:
  explicit RetainedBlocks(std::shared_ptr<std::atomic<int64_t>> budget_bytes)
      : budget_bytes_(std::move(budget_bytes)) {}
  // Keeps a copy of the block at `offset` if the budget allows (SstBuilder::DataBlockSink).
  void Add(uint64_t offset, std::string_view contents);
  const std::vector<std::pair<uint64_t, std::shared_ptr<const Block>>>& blocks() const {
    return blocks_;
  }

 private:
  std::shared_ptr<std::atomic<int64_t>> budget_bytes_;
  std::vector<std::pair<uint64_t, std::shared_ptr<const Block>>> blocks_;
};

class SstReader : public std::enable_shared_from_this<SstReader> {
 public:
  // Opens the SST stored at object_key, whose size is object_size (from the manifest or a
  // HEAD). Errors: the store's status (NotFound, IOError), Corruption naming the object.
  static Result<std::shared_ptr<SstReader>> Open(std::shared_ptr<ObjectStore> store,
                                                 std::string object_key, uint64_t object_size,
                                                 const SstReadOptions& options);
  // Opens an SST held in memory (a tool's copy of the object; no store, no cache). `object_key`
  // only names it in errors.
  static Result<std::shared_ptr<SstReader>> OpenFromBytes(std::string object_key,
                                                          std::shared_ptr<const std::string> bytes);
  SstReader(const SstReader&) = delete;
  SstReader& operator=(const SstReader&) = delete;
  // Drops this reader's blocks from the block cache: nobody can look them up any more.
  ~SstReader();

  // Puts `retained` (blocks of this very object, from its SstBuilder) into the block cache's
  // spare capacity (BlockCache::InsertIfRoom). A block whose offset is not one of this SST's
  // data blocks is ignored. Returns the number of blocks inserted.
  size_t Prepopulate(const RetainedBlocks& retained);

  // Finds the newest entry for user_key with sequence <= snapshot: result->state is kFound
  // (value and sequence set), kDeleted (point tombstone) or kNotPresent. Range tombstones are
  // not applied here (callers handle them). A Bloom filter miss makes no object request.
  // fill_cache = false reads blocks without inserting them into the cache (blocks already
  // cached are still used). cache_only = true makes no object request: a block that is not in
  // the block cache ends the lookup with result->state kNotCached (MultiGet's first pass).
  Status Get(std::string_view user_key, SequenceNumber snapshot, LookupResult* result,
             bool fill_cache = true, bool cache_only = false);

  // False only if no entry for user_key is in this SST (Bloom filter).
  bool MayContain(std::string_view user_key) const;

  // The SST's range tombstones as stored (sorted by begin, then sequence descending; may
  // overlap). Pinned; no object request. The engine fragments them (db/range_tombstone.h).
  const std::vector<RangeTombstone>& range_tombstones() const { return range_tombstones_; }

  // An iterator over all point entries (two-level: index -> data blocks). fill_cache = false
  // reads blocks without inserting them into the cache (for compaction scans).
  // scan_readahead_bytes > 0: every forward fetch reads at least this many bytes from the
  // block on, whatever read_unit_bytes says (compaction reads whole inputs front to back, so
  // a few large GETs beat one GET per block, most of all where requests cost money).
  std::unique_ptr<Iterator> NewIterator(bool fill_cache = true, size_t scan_readahead_bytes = 0);

  const SstProperties& properties() const { return properties_; }
  // Bytes of metadata pinned in memory by this reader.
  size_t pinned_bytes() const { return pinned_bytes_; }
  const std::string& object_key() const { return object_key_; }
  uint64_t object_size() const { return object_size_; }
  size_t num_data_blocks() const { return handles_.size(); }
  // The decoded footer and, for data block i < num_data_blocks(), its handle and index key
  // (for `cloudkv inspect` and `verify`, which report the layout).
  const SstFooter& footer() const { return footer_; }
  const BlockHandle& block_handle(size_t i) const { return handles_[i]; }
  std::string_view index_key(size_t i) const { return index_keys_[i]; }
  // Object-store GETs and bytes fetched by this reader so far (including Open); disk cache
  // hits and reads that waited for another reader's GET are not counted.
  uint64_t object_reads() const {
    return object_reads_.load(std::memory_order_relaxed) +
           (part_reader_ != nullptr ? part_reader_->object_reads() : 0);
  }
  uint64_t bytes_read() const {
    return bytes_read_.load(std::memory_order_relaxed) +
           (part_reader_ != nullptr ? part_reader_->bytes_read() : 0);
  }

 private:
  friend class SstIterator;
  SstReader(std::shared_ptr<ObjectStore> store, std::string object_key, uint64_t object_size,
            const SstReadOptions& options);

  Status LoadMetadata();
  Status ParseIndex(std::string_view index, uint64_t index_offset);
  Status ParseRangeDeletions(std::string_view contents, uint64_t offset);
  // Corruption "SST '<key>' at offset <offset>: <what>".
  Status Corrupt(uint64_t offset, std::string_view what) const;
  // Reads [begin, end) of the object; Corruption if the object is shorter.
  Result<std::string> ReadRange(uint64_t begin, uint64_t end);
  // The first block whose index key is >= target (num_data_blocks() if none).
  size_t FindBlock(std::string_view target) const;
  // Decodes block i from buf, which holds the object's bytes from buf_offset on.
  Result<std::shared_ptr<const Block>> DecodeBlock(size_t i, std::string_view buf,
                                                   uint64_t buf_offset) const;
  // Checks the header if buf (object bytes from buf_offset on) covers it.
  Status CheckHeaderIn(std::string_view buf, uint64_t buf_offset) const;
  // Block i from the cache, else from its read unit (caching the unit's blocks if
  // fill_cache).
  // cache_only: null (and OK) instead of a fetch.
  Result<std::shared_ptr<const Block>> ReadBlock(size_t i, bool fill_cache,
                                                 bool cache_only = false);
  void InsertIntoCache(size_t i, const std::shared_ptr<const Block>& block);
  uint64_t BlockEnd(size_t i) const {
    return handles_[i].offset + handles_[i].size + kBlockTrailerSize;
  }

  // Constant after Open.
  const std::shared_ptr<ObjectStore> store_;  // null when opened from bytes
  std::shared_ptr<const std::string> bytes_;  // the whole object, when opened from bytes
  const std::string object_key_;
  const uint64_t object_size_;
  const SstReadOptions options_;
  const std::unique_ptr<PartReader> part_reader_;  // null when opened from bytes
  uint64_t cache_id_ = 0;
  SstFooter footer_;
  SstProperties properties_;
  uint64_t data_end_ = 0;                      // offset of the first metadata byte
  std::unique_ptr<BloomFilterReader> filter_;  // null when the SST has no filter
  std::string index_keys_storage_;
  std::vector<std::string_view> index_keys_;  // views into index_keys_storage_
  std::vector<BlockHandle> handles_;
  std::vector<RangeTombstone> range_tombstones_;
  size_t pinned_bytes_ = 0;

  // Reads of the in-memory object (OpenFromBytes); store reads are counted by part_reader_.
  std::atomic<uint64_t> object_reads_{0};
  std::atomic<uint64_t> bytes_read_{0};
};

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_SST_READER_H_
