// SPDX-License-Identifier: Apache-2.0
// Options for opening a database, reading and writing.
//
// Every limit the engine enforces is named here (STYLE.md: a limit on everything). Defaults
// suit a server on S3; tests shrink them. "REQUIRES" states a field's valid range, which
// Options::Validate checks (DB::Open calls it first). Settings that every process attached to a
// database must agree on (history_retention, gc_min_age, max_clock_skew) are stored in the manifest
// when the database is created; the values here only seed a new database.
#ifndef CLOUDKV_OPTIONS_H_
#define CLOUDKV_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cloudkv/read_point.h"
#include "cloudkv/status.h"

namespace cloudkv {

class Clock;
class CompactionFilter;
class DiskCache;
class ObjectStore;
class Snapshot;

enum class Compression : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };

// Object-store request prices, dollars per 1,000 requests, for the cost estimate in
// DBStats::store (docs/design.md §13). Defaults: S3 Standard, us-east-1 list prices.
struct RequestPrices {
  double put_list_per_1000 = 0.005;   // PUT (also COPY, POST) and LIST
  double get_head_per_1000 = 0.0004;  // GET and HEAD
  double delete_per_1000 = 0;         // DELETE (free on S3)
};

struct Options {
  // --- Where and how ---------------------------------------------------------------------
  // When set, the database lives in this store and DB::Open's URL is only used in messages.
  // Tests use it to wrap stores (fault injection, latency).
  std::shared_ptr<ObjectStore> store;
  // Time source; null means the system clock.
  std::shared_ptr<Clock> clock;
  // Create the database if the location holds none. A read-only open, or one with this false,
  // creates nothing at all (not even a file:// directory): no database there is NotFound.
  bool create_if_missing = true;
  // Also create one where the location holds objects but no database (a non-empty directory
  // or prefix). False: such a location is InvalidArgument, so that a mistyped URL does not
  // mix a database into someone else's files.
  bool create_in_non_empty_location = false;
  // Fail with InvalidArgument if a database already exists there.
  bool error_if_exists = false;
  // Open without becoming the writer: no fencing, no writes, reads of what is committed.
  bool read_only = false;

  // --- Memory bounds -----------------------------------------------------------------------
  // Size at which the mutable memtable is sealed and flushed to an L0 SST. REQUIRES: >= 4096.
  size_t memtable_bytes = 64ull << 20;
  // Sealed memtables waiting for flush; a write waits when this many are pending. REQUIRES: >= 1.
  int max_immutable_memtables = 2;
  // A memtable whose oldest entry is older than this is flushed (bounds recovery and keeps an
  // idle writer's data in SSTs).
  uint64_t memtable_max_age_ms = 10 * 60 * 1000;
  // A write that cannot get memory (memtables or unflushed WAL bytes full) waits this long,
  // then gets Busy.
  uint64_t write_stall_timeout_ms = 30 * 1000;
  // Largest key and value accepted; bigger gets InvalidArgument and nothing is written.
  // REQUIRES: max_key_bytes >= 1.
  size_t max_key_bytes = 8 * 1024;
  size_t max_value_bytes = 32ull << 20;
  // Largest batch accepted (encoded bytes). REQUIRES: >= 1.
  size_t max_batch_bytes = 64ull << 20;

  // --- WAL group commit (docs/design.md §5) ----------------------------------------------------
  // Upload the WAL buffer when it reaches this size.
  size_t wal_max_bytes = 4ull << 20;
  // Upload buffered non-durable writes at least this often.
  uint64_t wal_flush_interval_ms = 100;
  // Cap on WAL PUTs per second; 0 = no cap; negative = by the store's latency class
  // (StoreCapabilities::latency_class): 10 on a remote-latency store (s3://, ?simulate=s3), no
  // cap on a local one (file://, memory://). REQUIRES: not NaN.
  double max_wal_puts_per_second = -1;
  // WAL uploads in flight at once (acknowledged strictly in id order). Unset: by the store's
  // latency class, 4 on a remote-latency store (a PUT takes tens of milliseconds; overlapping
  // them hides the latency), 1 on a local one, where uploads that overlap only split the
  // waiting writers into smaller groups whose fsyncs queue on the same disk. REQUIRES: unset
  // or >= 1.
  std::optional<int> max_inflight_wal_uploads;
  // Bytes written but not yet durable; writers wait beyond it.
  size_t max_unflushed_wal_bytes = 256ull << 20;
  // Flush the memtable when the WAL tail since the replay point has this many objects or bytes,
  // so that recovery work stays bounded.
  uint64_t max_wal_tail_objects = 2000;
  uint64_t max_wal_tail_bytes = 256ull << 20;
  // Attempts for one WAL upload before the writer gives up and goes read-only (each attempt
  // uses the same bytes, see docs/design.md §4). 0 = retry until fenced or closed.
  // REQUIRES: >= 0.
  int wal_upload_max_attempts = 0;

  // --- SSTs and reads ---------------------------------------------------------------------
  // Uncompressed size at which a data block is cut. REQUIRES: >= 256.
  size_t block_size = 4096;
  // REQUIRES: one of the enumerators.
  Compression compression = Compression::kZstd;
  // Bloom filter bits per key; <= 0 writes no filter, above 100 counts as 100.
  int bloom_bits_per_key = 10;
  // Uncompressed data blocks cached in memory.
  size_t block_cache_bytes = 64ull << 20;
  // Puts the data blocks of the SSTs this process writes (flush and compaction) into the block
  // cache once they are live, so reads after a flush or compaction do not go back to the
  // object store (a GET each on s3://). Only spare capacity is used: nothing cached is evicted
  // for them, and they are the first to go under pressure unless read. While a job runs, its
  // blocks are kept (uncompressed) up to half of block_cache_bytes. The blocks of SSTs that
  // are retired leave the cache when their last reader closes.
  bool prepopulate_block_cache = true;
  // Object reads fetch aligned ranges of this size, so small blocks do not mean small GETs;
  // 0 reads exactly the block. Unset: exact blocks with a disk cache (it fetches whole parts
  // from the store); otherwise by the store's latency class, 64 KiB on a remote-latency
  // store (a request costs ~25 ms and money), exact blocks on a local one (a read costs
  // microseconds; bigger units only waste CPU when the working set exceeds the cache, see
  // docs/format-sst.md).
  std::optional<size_t> read_unit_bytes;
  // Object reads that one call issues at once run on a pool of up to this many threads,
  // started on demand and shared by the calls: MultiGet's keys that miss the block cache, and
  // opening the SSTs of a manifest (their footers, indexes and filters). REQUIRES: >= 1.
  int max_parallel_reads = 256;

  // --- Local disk cache (docs/design.md §8) -------------------------------------------------
  // A directory on local disk caching the SSTs' bytes in aligned 1 MiB parts, kept across
  // restarts, so that a block read that misses the memory cache costs a local read instead of
  // a GET. It holds the parts read, and the SSTs this process writes (flush and compaction);
  // retired SSTs leave it. Parts are checksummed: a damaged one is dropped and fetched again,
  // never served. Empty = no disk cache. The directory is created if missing; one that cannot
  // be written, or a full disk, turns the disk cache off with a logged warning (reads go to the
  // store), never fails a read. One process at a time may use a directory.
  std::string disk_cache_dir;
  // Bound on the bytes of the disk cache's files, evicting the least recently used parts.
  // REQUIRES: >= 1 MiB (one part) when disk_cache_dir is set.
  uint64_t disk_cache_bytes = 1ull << 30;
  // A disk cache shared by several DBs of this process (from NewDiskCache); it keeps the
  // objects of different stores apart. REQUIRES: not set together with disk_cache_dir.
  std::shared_ptr<DiskCache> disk_cache;

  // --- Fencing ---------------------------------------------------------------------------
  // A writer that has not confirmed its epoch for this long confirms it before the next read.
  uint64_t epoch_check_interval_ms = 5000;

  // --- Compaction and backpressure (docs/design.md §9, docs/engine.md "Compaction") -------------
  // No background compaction (CompactAll still works). Backpressure still applies, so writes
  // eventually get Busy once L0 reaches l0_stop_writes_trigger.
  bool disable_auto_compaction = false;
  // L0 files that make L0 eligible for compaction (its score is count / trigger).
  // REQUIRES: >= 1.
  int l0_compaction_trigger = 4;
  // At this many L0 files each write is delayed by ~1 ms; at the stop count writes wait for
  // compaction (at most write_stall_timeout_ms, then Busy). REQUIRES: both >= 1.
  int l0_slowdown_writes_trigger = 20;
  int l0_stop_writes_trigger = 36;
  // Target bytes of Ln = level1_target_bytes * level_size_ratio^(n-1). REQUIRES: ratio >= 2,
  // level1_target_bytes > 0.
  int level_size_ratio = 10;
  // Compaction outputs are cut at about this size (never between versions of one key).
  // REQUIRES: > 0.
  uint64_t target_sst_bytes = 64ull << 20;
  uint64_t level1_target_bytes = 256ull << 20;
  // L0 plus L1..L(num_levels-1). REQUIRES: 2..64.
  int num_levels = 7;
  // Key-range slices of one compaction job run in parallel on this many threads.
  // REQUIRES: >= 1.
  int max_subcompactions = 2;
  // A compaction job that has not committed this long after it started aborts (its uploads are
  // left to GC as orphans), so GC's gc_min_age can never delete the outputs of a job that still
  // commits. 0 = a quarter of the database's gc_min_age.
  uint64_t compaction_deadline_ms = 0;
  // Called for the newest version of each key that no snapshot reads (see compaction_filter.h);
  // null = keep everything.
  std::shared_ptr<const CompactionFilter> compaction_filter;

  // --- Garbage collection (docs/design.md §10) --------------------------------------------------
  // How often the writer runs GC; 0 disables the background run (DB::CollectGarbage still works).
  uint64_t gc_interval_ms = 10 * 60 * 1000;

  // --- Database settings, stored in the manifest at creation -------------------------------
  // GC keeps every manifest committed within max(history_retention, gc_min_age) +
  // max_clock_skew, and deletes an unreferenced SST only once its name is gc_min_age +
  // max_clock_skew old; flush commits abort after gc_min_age / 2. REQUIRES: gc_min_age_ms >
  // max_clock_skew_ms (checked also when the database exists and these values are unused).
  uint64_t history_retention_ms = 24ull * 3600 * 1000;
  uint64_t gc_min_age_ms = 3600ull * 1000;
  uint64_t max_clock_skew_ms = 30ull * 1000;

  // Prices of the requests counted in DBStats::store.
  RequestPrices request_prices;

  // OK if every field meets its REQUIRES above; otherwise InvalidArgument naming the first
  // field that does not and its value, e.g. "Options::num_levels = 1: must be in 2..64".
  // DB::Open calls it before it opens the store.
  Status Validate() const;
};

// A disk cache in `dir` bounded by capacity_bytes, to share between DBs through
// Options::disk_cache (see disk_cache_dir above for what it does). A directory that cannot be
// used gives a cache that is off, with a warning, not an error. Errors: InvalidArgument for an
// empty dir. Thread-safety: the cache is safe to use from any number of DBs and threads.
Result<std::shared_ptr<DiskCache>> NewDiskCache(const std::string& dir, uint64_t capacity_bytes);

struct ReadOptions {
  // Read as of this snapshot; null = the latest durable state. REQUIRES: a snapshot of the same
  // DB, not yet released (see DB::GetSnapshot and ManagedSnapshot).
  const Snapshot* snapshot = nullptr;
  // Also see writes that are acknowledged from memory but not yet durable (docs/design.md §5).
  // Ignored when `snapshot` is set.
  bool read_unflushed = false;
  // Iterator bounds: lower inclusive, upper exclusive.
  std::optional<std::string> lower_bound;
  std::optional<std::string> upper_bound;
  // Read the database as of this past point instead (docs/time-travel.md): the state at a time,
  // a sequence number or a checkpoint. The DB opens a read-only view of that point (as
  // DB::OpenAt does) and serves the read from it; views of points whose state can no longer
  // change are kept for the next reads (at most 4). REQUIRES: snapshot is null (else
  // InvalidArgument). The read gets DB::OpenAt's errors, e.g. InvalidArgument stating the
  // oldest available point for a point outside the history window.
  std::optional<ReadPoint> as_of;
  // Put the data blocks this read fetches from the object store into the block cache. false
  // suits a one-off scan that should not evict the working set: blocks already cached are
  // still used, but nothing is added.
  bool fill_cache = true;
};

struct WriteOptions {
  // true: return once the write is stored in the object store. false: return at once; the
  // write becomes durable with the next WAL upload and may be lost in a crash before that.
  bool durable = true;
};

}  // namespace cloudkv

#endif  // CLOUDKV_OPTIONS_H_
