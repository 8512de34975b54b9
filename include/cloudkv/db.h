// SPDX-License-Identifier: Apache-2.0
// DB: a key-value database whose only durable state lives in an object store.
//
// One process at a time is the writer of a database (docs/design.md §4): opening a database as
// writer fences the previous writer, which from then on gets Fenced for every write. Any
// number of read-only opens may coexist.
//
// Each call below lists the Status codes it returns and when; the codes are explained above
// class DB (LevelDB's db.h is the model).
//
// Thread-safety: all methods are safe to call concurrently from any number of threads, except
// Close, which must not race with other calls. Iterators and snapshots must be released before
// the DB is destroyed.
#ifndef CLOUDKV_DB_H_
#define CLOUDKV_DB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/checkpoint.h"
#include "cloudkv/iterator.h"
#include "cloudkv/options.h"
#include "cloudkv/read_point.h"
#include "cloudkv/status.h"
#include "cloudkv/write_batch.h"

namespace cloudkv {

// A consistent read point: reads at a snapshot see exactly the writes with sequence <= it.
// Snapshots come from DB::GetSnapshot and belong to the DB; give each back with
// DB::ReleaseSnapshot, or hold it in a ManagedSnapshot, which does that for you.
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
  uint64_t block_cache_bytes = 0;  // charge of the blocks held now
  uint64_t block_cache_evictions = 0;
  uint64_t block_cache_capacity_bytes = 0;
  // The disk cache (Options::disk_cache_dir or disk_cache; shared caches report the totals of
  // every DB using them). Zero when there is none.
  uint64_t disk_cache_hits = 0;    // part reads served from local disk
  uint64_t disk_cache_misses = 0;  // part reads that went to the store
  uint64_t disk_cache_bytes_read = 0;
  uint64_t disk_cache_bytes_inserted = 0;
  uint64_t disk_cache_evictions = 0;
  uint64_t disk_cache_entries = 0;  // parts held
  uint64_t disk_cache_bytes = 0;    // bytes of the files held
  uint64_t disk_cache_capacity_bytes = 0;
  uint64_t disk_cache_corrupt_parts_dropped = 0;
  uint64_t disk_cache_write_errors = 0;
  bool disk_cache_disabled = false;  // a write failed; running without the disk cache
  uint64_t write_stalls = 0;         // writes that waited (memory limits or L0 stop trigger)
  uint64_t write_slowdowns = 0;      // writes delayed ~1 ms at the L0 slowdown trigger

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

// Errors. Every call that can fail returns a Status or Result; the codes a call returns are
// listed with it, and mean:
//   InvalidArgument  the arguments are bad (the message says which), or the call came after
//                    Close ("database <url> is closed").
//   NotSupported     a write (or Flush, CompactAll) on a database opened read_only.
//   Fenced           a newer writer opened the database. The old writer acknowledges no more
//                    writes: its next WAL upload meets the newer writer's fence, so a durable
//                    write fails with Fenced (a non-durable one may have returned OK and is
//                    lost), and from then on every write fails at once. Its reads fail once
//                    its background work (flush, compaction, GC) meets the newer epoch, and at
//                    the latest at its next epoch check, which a read makes when
//                    epoch_check_interval_ms have passed since the last one. Only Close helps;
//                    open again to continue.
//   Busy             a wait hit its limit (a write stall, write_stall_timeout_ms), work was cut
//                    short because the database is closing, or a manifest commit lost too many
//                    races in a row.
//   Corruption       bytes read from the store do not verify; the message names the object.
//   IOError, TimedOut  an object-store request failed; Status::retryable() says whether the
//                    same request may succeed if tried again.
// A writer stops when a WAL upload fails for good (a non-retryable error, a Corruption where
// its own upload should be, or the last of wal_upload_max_attempts) or a background flush
// fails (IOError, TimedOut, Corruption, Busy): from then on every write, Flush and CompactAll
// returns that error, its "stop error", until the database is opened again. Reads go on,
// except after Fenced.
class DB {
 public:
  // Opens (or creates, per options) the database at `url` (see object_store.h for URLs; with
  // options.store set, the URL only names the database in messages). As writer unless
  // options.read_only; a writer open fences the previous writer. Errors:
  //   InvalidArgument  options.Validate() failed (checked first, naming the field), a malformed
  //                    URL or unknown URL option, or options.error_if_exists and a database
  //                    exists there.
  //   NotFound         no database there, and !options.create_if_missing or options.read_only
  //                    (a read-only open never creates one).
  //   NotSupported     a URL scheme this build cannot serve; a writer open on a store that
  //                    cannot create objects atomically if absent (StoreCapabilities); a manifest
  //                    of a newer format than this binary reads.
  //   Fenced           another writer took over while this one was opening.
  //   Busy             taking the writer epoch lost too many manifest commit races, or the
  //                    latest manifest could not be found while GC pruned old ones.
  //   Corruption       a damaged manifest, WAL object or SST (named), or an SST the manifest
  //                    lists is missing.
  //   IOError, TimedOut  the store failed, or its location cannot be used (e.g. not a
  //                    directory); for a read-only open also an SST that GC deleted meanwhile.
  static Result<std::unique_ptr<DB>> Open(std::string_view url, const Options& options);

  // Opens a read-only view of the database at `url` as it was at `point` (read_point.h,
  // docs/time-travel.md): the newest manifest whose SSTs hold nothing after the point, plus the
  // WAL batches of the history up to it, exact to the commit. options.read_only is implied and
  // nothing is ever written; the view never changes. A writer's GC keeps what the view needs
  // while the point is inside the history window (or its checkpoint lives); after that a read
  // may fail with IOError saying the object is gone. Errors: Open's (for a read-only open), and
  //   InvalidArgument  a time in the future; a sequence not written yet (the message names the
  //                    last one); a point outside the history window or before the database
  //                    was created (the message states the oldest available point).
  //   NotFound         no database there; no live checkpoint of that name (the message lists
  //                    the ones there) or it expired.
  //   Busy             GC pruned the point's manifest while the view was being opened.
  static Result<std::unique_ptr<DB>> OpenAt(std::string_view url, const ReadPoint& point,
                                            const Options& options);

  // The settings stored in the manifest of the database at `url` (read only; options.store
  // and options.clock are used if set). Errors: NotFound (no database), Corruption, IOError.
  static Result<DbSettings> GetSettings(std::string_view url, const Options& options);
  // Sets history_retention in the manifest of the database at `url`, with a manifest commit
  // that leaves the writer undisturbed; every process's GC honours it from its next pass.
  // Shortening it lets GC delete history at once; lengthening it cannot bring back what GC
  // deleted already. Errors: InvalidArgument (above 10 years), NotFound (no database), Busy
  // (lost too many commit races), Corruption, IOError.
  static Status SetHistoryRetention(std::string_view url, uint64_t retention_micros,
                                    const Options& options);

  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;
  // Closes the database if Close was not called, ignoring errors. REQUIRES: every iterator and
  // snapshot of this DB was released.
  virtual ~DB() = default;

  // Atomically applies a batch: readers see all of its records or none. With options.durable
  // it returns once the batch is durable in the object store (no timeout: it waits as
  // WaitForDurable does); otherwise as soon as it is in memory. On success, if `sequence` is not
  // null, stores the sequence number of the batch's last record. An empty batch writes nothing
  // and takes no sequence number; it is refused only when the database is closed or read_only,
  // and with options.durable it waits for the writes before it (as WaitForDurable).
  // Errors when nothing was written:
  //   InvalidArgument  a key, value or the batch exceeds max_key_bytes, max_value_bytes or
  //                    max_batch_bytes, or a DeleteRange has begin > end; or the database is
  //                    closed.
  //   NotSupported     the database was opened read_only.
  //   Busy             no room for write_stall_timeout_ms: memtables or unflushed WAL bytes at
  //                    their limits, or L0 at l0_stop_writes_trigger.
  //   Fenced, or the writer's stop error (see above).
  // Errors while waiting for durability (options.durable only): Fenced, the stop error, or a
  // retryable IOError if Close gave up waiting. The batch was applied in memory but is never
  // acknowledged; it may or may not survive a crash.
  virtual Status Write(const WriteOptions& options, const WriteBatch& batch,
                       uint64_t* sequence) = 0;
  Status Write(const WriteOptions& options, const WriteBatch& batch) {
    return Write(options, batch, nullptr);
  }
  // One-record batches; errors as Write.
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
  // calls `done` exactly once with the write's final outcome and, on success, the sequence
  // number of the batch's last record. A refused batch (the errors of Write when nothing was
  // written) gets `done` on the calling thread before WriteAsync returns, with sequence 0, and
  // an empty one gets OK there at once. Otherwise `done` comes, usually from an internal
  // thread, once the batch is durable or has failed (Fenced, the stop error, or a retryable
  // IOError if Close gave up waiting; the batch may or may not survive a crash, but it is
  // never acknowledged). `done` must be quick and must not call into the DB: it may run with
  // the DB's internal locks held.
  virtual void WriteAsync(const WriteBatch& batch,
                          std::function<void(Status status, uint64_t sequence)> done) = 0;

  // Waits until every write with sequence <= `sequence` is durable (a sequence above the last
  // write's waits for the last write). No timeout: with wal_upload_max_attempts = 0 a failing
  // upload is retried until it succeeds, the writer is fenced, or the database is closed. OK at
  // once on a read-only open. Errors: Fenced, the stop error, or a retryable IOError if Close
  // gave up waiting; those writes may or may not survive a crash.
  virtual Status WaitForDurable(uint64_t sequence) = 0;

  // The value of `key` at the read point (options.as_of: that past point, read through a view
  // as OpenAt opens, with OpenAt's errors; else options.snapshot; else, for a writer, every
  // durable write, or with options.read_unflushed every applied one; for a read-only open,
  // everything it loaded). NotFound if the key has no value there. Errors:
  //   InvalidArgument  the database is closed.
  //   Fenced           (a writer) a newer writer took over.
  //   Corruption       a damaged SST, or (a writer) an SST its manifest lists is missing.
  //   IOError, TimedOut, Busy  the store failed, or the writer's periodic epoch check did;
  //                    also IOError when a read-only open reads an SST that GC deleted after
  //                    newer manifests replaced the one it loaded (the message says to reopen).
  virtual Result<std::string> Get(const ReadOptions& options, std::string_view key) = 0;
  // Get for each key, one result per key in the order of `keys`. Keys found in memory (the
  // memtables and the block cache) are read on the calling thread; the object reads of the
  // others are issued in parallel (Options::max_parallel_reads), and reads of the same object
  // part are made once (with a disk cache). Unless options.snapshot or options.read_unflushed is
  // set, every key is read at one point taken when the call starts (with read_unflushed, the
  // writes applied by then, durable or not). Each result has Get's errors.
  virtual std::vector<Result<std::string>> MultiGet(const ReadOptions& options,
                                                    std::span<const std::string_view> keys) = 0;

  // An iterator over the database at the read point of options (as Get), within
  // options.lower_bound and upper_bound. Never null, and never fails here: errors come through
  // the iterator's status(). One that could not be created (the database is closed, Fenced, a
  // failed epoch check) is never Valid() and status() says why; errors met while iterating
  // (Corruption, IOError, TimedOut) make it invalid with status() set, so check status() once
  // Valid() is false. The iterator sees one state for its whole life, whatever writes,
  // flushes and compactions happen meanwhile. The caller owns it. REQUIRES: destroyed before
  // the DB.
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  // A snapshot of the current durable state (or all applied writes when the database was
  // opened read_only). Never fails. While it is held, compaction keeps every version it can
  // read. Release it with ReleaseSnapshot, or take a ManagedSnapshot instead.
  virtual const Snapshot* GetSnapshot() = 0;
  // Releases a snapshot; null is a no-op. REQUIRES: `snapshot` came from this DB's GetSnapshot
  // and was not released yet.
  virtual void ReleaseSnapshot(const Snapshot* snapshot) = 0;

  // Seals the memtable (if not empty), waits until every sealed memtable is flushed to an SST
  // and its manifest committed, and returns. The data flushed is durable first. Waits without
  // a timeout for sealed memtables ahead of it. Errors: InvalidArgument (closed), NotSupported
  // (read_only), Fenced, or the stop error (a failed flush's own error included).
  virtual Status Flush() = 0;

  // Flushes the memtables, then compacts every level into the next, down to the last level
  // (moving SSTs without rewriting them where nothing overlaps), and returns when done.
  // Overwritten versions and tombstones no live snapshot needs are gone afterwards. Errors:
  // as Flush, then the first failed job's: Busy (the database is closing), TimedOut (the job
  // passed compaction_deadline_ms), Fenced, PreconditionFailed (another committer kept changing
  // the levels under it), Corruption, and the store's IOError or TimedOut. A failed job changes
  // nothing (its uploads are left to GC); the jobs before it stay committed.
  virtual Status CompactAll() = 0;

  // Runs one garbage-collection pass now (docs/design.md §10, docs/engine.md). Works also on a
  // read-only open (as `cloudkv gc` does): such a pass deletes only what no writer can need.
  // Errors: InvalidArgument (closed), Fenced (a writer whose epoch was replaced; nothing
  // deleted), Busy (the database is closing, or another GC pass deleted manifests under this
  // one), Corruption (a damaged manifest, named), IOError, TimedOut. GetStats() counts what was
  // deleted.
  virtual Status CollectGarbage() = 0;

  // Waits (at most write_stall_timeout_ms) for the writes already accepted to become durable,
  // stops background work and releases the store; the memtable is left to the next open's WAL
  // replay. The database is closed whatever this returns, and calling it again returns OK.
  // Afterwards reads, writes, Flush, CompactAll and CollectGarbage return InvalidArgument
  // ("database <url> is closed"); GetSnapshot, ReleaseSnapshot, WaitForDurable, GetStats and
  // store() still answer. Errors (a writer only): a retryable IOError if writes were still not
  // durable after write_stall_timeout_ms (they fail and are never acknowledged); the WAL's
  // stop error if it had stopped (Fenced included); a failed background flush's error other
  // than Fenced.
  // REQUIRES: no other call on this DB runs concurrently.
  virtual Status Close() = 0;

  // Creates a checkpoint named `name` (1 to 128 characters of A-Z a-z 0-9 . _ -) of the current
  // state: every write acknowledged before the call (and possibly some after). It pins the
  // objects that state needs beyond the history window until it is deleted or, if
  // expire_time_micros (Unix microseconds) is set, until then. Works on a writer and on a
  // read-only open (there the state is what the store holds: every durable write). Errors:
  //   InvalidArgument  a bad name, a live checkpoint of that name exists, an expiry not in the
  //                    future, 1000 checkpoints exist, or the database is closed.
  //   NotSupported     a view opened by OpenAt.
  //   Fenced           (a writer) a newer writer took over.
  //   Busy, Corruption, IOError, TimedOut  the manifest commit or the store failed; no
  //                    checkpoint was created (an unreferenced copy object may remain).
  virtual Result<CheckpointInfo> CreateCheckpoint(std::string_view name,
                                                  std::optional<uint64_t> expire_time_micros);
  // The live (not expired) checkpoints, in creation order, from the latest manifest.
  // Errors: InvalidArgument (closed), Corruption, IOError.
  virtual Result<std::vector<CheckpointInfo>> ListCheckpoints();
  // Deletes the checkpoint `name`; GC may then delete what only it kept. Errors: NotFound (no
  // live checkpoint of that name; the message lists the ones there), InvalidArgument (closed),
  // NotSupported (a view opened by OpenAt), Busy, Corruption, IOError.
  virtual Status DeleteCheckpoint(std::string_view name);

  // Counters and gauges; never fails, also after Close.
  virtual DBStats GetStats() = 0;

  // The store the database lives in (for counting requests and inspection).
  virtual std::shared_ptr<ObjectStore> store() const = 0;
};

// Owns a snapshot of a DB and releases it when destroyed (RocksDB's ManagedSnapshot), so that
// an early return cannot leak it:
//   ManagedSnapshot snapshot(*db);
//   ReadOptions at;
//   at.snapshot = snapshot.get();
// Move-only; a moved-from handle holds nothing. Thread-safety: a handle is not safe for
// concurrent use; the snapshot it holds may be read from any thread.
class ManagedSnapshot {
 public:
  // Takes db.GetSnapshot(). REQUIRES: `db` outlives the handle (or its Reset).
  explicit ManagedSnapshot(DB& db);
  ManagedSnapshot(ManagedSnapshot&& other) noexcept;
  ManagedSnapshot& operator=(ManagedSnapshot&& other) noexcept;
  ManagedSnapshot(const ManagedSnapshot&) = delete;
  ManagedSnapshot& operator=(const ManagedSnapshot&) = delete;
  // Releases the snapshot, if the handle still holds one.
  ~ManagedSnapshot();

  // The snapshot, for ReadOptions::snapshot; null once moved from or Reset.
  const Snapshot* get() const { return snapshot_; }
  // Releases the snapshot now; the handle then holds nothing.
  void Reset();

 private:
  DB* db_;
  const Snapshot* snapshot_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_H_
