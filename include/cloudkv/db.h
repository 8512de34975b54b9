// DB: a key-value database whose only durable state lives in an object store.
//
// One process at a time is the writer of a database (docs/design.md §4): opening a database as
// writer fences the previous writer, which from then on gets Fenced for every write. Any
// number of read-only opens may coexist.
//
// Thread-safety: all methods are safe to call concurrently from any number of threads, except
// Close, which must not race with other calls. Iterators and snapshots must be released before
// the DB is destroyed.
#ifndef CLOUDKV_DB_H_
#define CLOUDKV_DB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/iterator.h"
#include "cloudkv/options.h"
#include "cloudkv/status.h"
#include "cloudkv/write_batch.h"

namespace cloudkv {

// A consistent read point: reads at a snapshot see exactly the writes with sequence <= it.
class Snapshot {
 public:
  virtual uint64_t sequence() const = 0;

 protected:
  virtual ~Snapshot() = default;
};

// Counters and gauges for `cloudkv stats`, INFO and the metrics endpoint.
struct DBStats {
  uint64_t last_sequence = 0;
  uint64_t durable_sequence = 0;
  uint64_t writer_epoch = 0;
  uint64_t manifest_version = 0;
  uint64_t memtable_bytes = 0;
  uint64_t immutable_memtables = 0;
  uint64_t unflushed_wal_bytes = 0;
  uint64_t wal_uploads = 0;
  uint64_t wal_upload_bytes = 0;
  uint64_t wal_upload_micros = 0;  // summed over uploads, from first attempt to stored
  uint64_t wal_batches = 0;        // write batches carried by those uploads
  uint64_t flushes = 0;
  uint64_t l0_files = 0;
  std::vector<uint64_t> level_files;  // L1..Ln
  std::vector<uint64_t> level_bytes;  // L0..Ln
  uint64_t flush_bytes_written = 0;   // bytes of L0 SSTs written by flushes
  uint64_t compactions = 0;           // committed jobs, trivial moves included
  uint64_t trivial_moves = 0;         // committed jobs that only moved SSTs down a level
  uint64_t compactions_failed = 0;    // jobs that failed, timed out or lost to another commit
  uint64_t compaction_bytes_read = 0;
  uint64_t compaction_bytes_written = 0;
  uint64_t compaction_micros = 0;  // wall time spent in jobs that committed
  // Estimate of the bytes compaction must rewrite to bring every level under its target.
  uint64_t pending_compaction_bytes = 0;
  uint64_t user_bytes_written = 0;
  // (flush_bytes_written + compaction_bytes_written) / user_bytes_written; 0 before any write.
  double write_amplification = 0;
  // compaction_bytes_written per second of compaction_micros.
  double compaction_bytes_per_second = 0;
  uint64_t gc_runs = 0;
  uint64_t gc_objects_deleted = 0;
  uint64_t gc_bytes_reclaimed = 0;
  uint64_t gc_manifests_deleted = 0;  // gc_objects_deleted by kind
  uint64_t gc_ssts_deleted = 0;
  uint64_t gc_wal_objects_deleted = 0;
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t block_cache_bytes = 0;
  uint64_t write_stalls = 0;     // writes that waited (memory limits or L0 stop trigger)
  uint64_t write_slowdowns = 0;  // writes delayed ~1 ms at the L0 slowdown trigger

  // Object-store requests this DB made since it was opened (writes, reads, flushes,
  // compaction, GC, epoch checks), each counted as S3 bills it: failed requests too, one
  // DELETE per 1,000 keys of a batch delete.
  struct StoreRequests {
    uint64_t get = 0;
    uint64_t head = 0;
    uint64_t put = 0;
    uint64_t del = 0;
    uint64_t list = 0;
    uint64_t errors = 0;         // requests (of any kind) that returned an error
    uint64_t bytes_read = 0;     // payload bytes GETs returned
    uint64_t bytes_written = 0;  // payload bytes PUTs sent
    // The requests' cost at Options::request_prices (storage and transfer not included).
    double estimated_cost_dollars = 0;
  };
  StoreRequests store;
};

class DB {
 public:
  // Opens (or creates, per options) the database at `url` (see object_store.h for URLs). As
  // writer unless options.read_only. Errors: InvalidArgument (bad URL or options), NotFound (no
  // database and !create_if_missing), Corruption (a damaged object, named), IOError.
  static Result<std::unique_ptr<DB>> Open(std::string_view url, const Options& options);

  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;
  // Closes the database if Close was not called, ignoring errors.
  virtual ~DB() = default;

  // Atomically applies a batch. Returns once durable if options.durable. On success, if
  // `sequence` is not null, stores the sequence number of the batch's last record.
  // Errors: InvalidArgument (oversize key/value/batch, or a DeleteRange with begin > end;
  // nothing written), Fenced, Busy (memory
  // limits held for write_stall_timeout_ms), IOError.
  virtual Status Write(const WriteOptions& options, const WriteBatch& batch,
                       uint64_t* sequence) = 0;
  Status Write(const WriteOptions& options, const WriteBatch& batch) {
    return Write(options, batch, nullptr);
  }
  Status Put(const WriteOptions& options, std::string_view key, std::string_view value);
  Status Delete(const WriteOptions& options, std::string_view key);
  // Deletes every key k with begin <= k < end (bytewise) that exists when the write is
  // applied, as one record at one sequence number: readers at a snapshot taken before it still
  // see the keys; keys written after it are not affected. Cost does not depend on the number
  // of keys deleted. begin == end is an empty range (OK, deletes nothing), as in RocksDB.
  // Errors: InvalidArgument if begin > end or either bound exceeds max_key_bytes (nothing
  // written); otherwise as Write.
  Status DeleteRange(const WriteOptions& options, std::string_view begin, std::string_view end);

  // Applies a batch to memory at once (visible to read_unflushed reads when this returns) and
  // calls `done` from an internal thread once it is durable or has failed. `done` must be quick
  // and must not call back into the DB's write path. The status passed to `done` is the
  // write's final outcome; on error the batch may or may not survive a crash, but it is never
  // acknowledged.
  virtual void WriteAsync(const WriteBatch& batch,
                          std::function<void(Status status, uint64_t sequence)> done) = 0;

  // Waits until every write with sequence <= `sequence` is durable.
  virtual Status WaitForDurable(uint64_t sequence) = 0;

  // Value of `key`, NotFound if absent.
  virtual Result<std::string> Get(const ReadOptions& options, std::string_view key) = 0;
  // Values of several keys, read in parallel; one result per key.
  virtual std::vector<Result<std::string>> MultiGet(const ReadOptions& options,
                                                    std::span<const std::string_view> keys) = 0;

  // An iterator over the database as of options.snapshot (or now). The caller owns it.
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  // A snapshot of the current durable state (or all applied writes when the database was
  // opened read_only). Release it with ReleaseSnapshot.
  virtual const Snapshot* GetSnapshot() = 0;
  virtual void ReleaseSnapshot(const Snapshot* snapshot) = 0;

  // Makes every write so far durable, flushes the memtable to an SST and commits the manifest.
  virtual Status Flush() = 0;

  // Flushes the memtables, then compacts every level into the next, down to the last level
  // (moving SSTs without rewriting them where nothing overlaps), and returns when done.
  // Overwritten versions and tombstones no live snapshot needs are gone afterwards. Errors:
  // as Flush, or the error of a compaction job (Busy when the database is closing).
  virtual Status CompactAll() = 0;

  // Runs one garbage-collection pass now (docs/design.md §10, docs/engine.md). Works also on a
  // read-only open (as `cloudkv gc` does): such a pass deletes only what no writer can need.
  // Errors: Fenced (a writer whose epoch was replaced; nothing deleted), Corruption (a damaged
  // manifest, named), IOError. GetStats() counts what was deleted.
  virtual Status CollectGarbage() = 0;

  // Waits for in-flight writes to become durable, stops background work and releases the
  // store. Further calls return InvalidArgument. Calling it twice is OK.
  virtual Status Close() = 0;

  virtual DBStats GetStats() = 0;

  // The store the database lives in (for counting requests and inspection).
  virtual std::shared_ptr<ObjectStore> store() const = 0;
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_H_
