// SPDX-License-Identifier: Apache-2.0
// DBImpl: the engine behind cloudkv::DB (docs/design.md §3–6).
//
// Locking: mu_ guards the write path (sequence assignment, memtable insert, WAL append), the
// sources of reads (memtables + Version), snapshots and background state. It is never held
// across object-store I/O, except by Open, before any other thread exists. Reads do not take it:
// they copy the ReadState that mu_'s holders publish (under read_state_mu_, held only for the
// copy) and read sequences from atomics. The memtable has one inserter (under mu_) and lock-free
// readers. The fields mu_ guards say so (GUARDED_BY) and the methods that need it held say
// REQUIRES(mu_); the clang build of `make test` (preset thread-safety) checks both.
#ifndef CLOUDKV_DB_DB_IMPL_H_
#define CLOUDKV_DB_DB_IMPL_H_

#include <atomic>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/block_cache.h"
#include "cache/disk_cache.h"
#include "cloudkv/db.h"
#include "db/compaction.h"
#include "db/flush_job.h"
#include "db/gc.h"
#include "db/manifest.h"
#include "db/memtable.h"
#include "db/sst_cache.h"
#include "db/version.h"
#include "db/wal_writer.h"
#include "store/counting_store.h"
#include "util/mutex.h"
#include "util/thread_pool.h"

namespace cloudkv {

class DBImpl final : public DB {
 public:
  // With `open_at`, Open loads the state at that past point instead of the latest
  // (DB::OpenAt; REQUIRES options.read_only).
  DBImpl(std::string url, const Options& options, std::shared_ptr<ObjectStore> store,
         std::optional<ReadPoint> open_at = std::nullopt);
  ~DBImpl() override;

  // Opens the database: loads (or creates) the manifest, takes the writer epoch, replays the
  // WAL, writes the fence. Called once by DB::Open.
  Status Open();

  Status Write(const WriteOptions& options, const WriteBatch& batch, uint64_t* sequence) override;
  void WriteAsync(const WriteBatch& batch,
                  std::function<void(Status status, uint64_t sequence)> done) override;
  Status WaitForDurable(uint64_t sequence) override;
  Result<std::string> Get(const ReadOptions& options, std::string_view key) override;
  std::vector<Result<std::string>> MultiGet(const ReadOptions& options,
                                            std::span<const std::string_view> keys) override;
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override;
  const Snapshot* GetSnapshot() override;
  void ReleaseSnapshot(const Snapshot* snapshot) override;
  Status Flush() override;
  Status CompactAll() override;
  Status CollectGarbage() override;
  Status Close() override;
  DBStats GetStats() override;
  std::shared_ptr<ObjectStore> store() const override { return store_; }
  Result<CheckpointInfo> CreateCheckpoint(std::string_view name,
                                          std::optional<uint64_t> expire_time_micros) override;
  Result<std::vector<CheckpointInfo>> ListCheckpoints() override;
  Status DeleteCheckpoint(std::string_view name) override;

  // Test hook for crash simulation: the next Close (or the destructor) waits for nothing, fails
  // whatever is not yet durable, and flushes nothing, as a killed process would.
  void AbandonOnCloseForTest() { abandon_on_close_ = true; }

 private:
  struct Immutable {
    std::shared_ptr<MemTable> mem;
    uint64_t wal_boundary;  // every batch of `mem` is in a WAL id below this
  };
  // The sources a read consults, published as one immutable object so that a read does not
  // take mu_: rebuilt under mu_ (PublishReadStateLocked) whenever mem_, imm_ or version_ changes.
  struct ReadState {
    std::shared_ptr<MemTable> mem;
    std::vector<std::shared_ptr<MemTable>> imm;  // newest first
    std::shared_ptr<Version> version;
  };
  struct ReadView {
    std::shared_ptr<const ReadState> state;
    SequenceNumber sequence;
  };
  class SnapshotImpl;

  Status ValidateBatch(const WriteBatch& batch) const;
  // Applies `batch` to memory and queues it for the WAL. Returns its last sequence. `done`
  // is moved from only when the batch is accepted (then the WAL, or this call for an empty
  // batch, calls it); on an error it is left for the caller.
  Result<SequenceNumber> WriteToMemory(const WriteBatch& batch, bool durable_waiter,
                                       WalWriter::Callback* done);
  // Waits (dropping mu_ meanwhile) until the memtable has room or the write must fail.
  Status MakeRoomForWrite() REQUIRES(mu_);
  void SwitchMemtableLocked() REQUIRES(mu_);
  std::shared_ptr<MemTable> NewMemTable() const;
  Result<ReadView> GetReadView(const ReadOptions& options);
  // Get at `view`. cache_only: no object request; a key that needs one gets *not_cached = true
  // (and a result to ignore).
  Result<std::string> GetFromView(const ReadView& view, const ReadOptions& options,
                                  std::string_view key, bool cache_only, bool* not_cached);
  void PublishReadStateLocked() REQUIRES(mu_);
  // Records a background error; a Fenced one also makes reads refuse (reads_refused_).
  void SetBgErrorLocked(const Status& s) REQUIRES(mu_);
  Status ConfirmEpochIfDue() EXCLUDES(mu_);
  Status Recover() REQUIRES(mu_);
  // Time travel (db_time_travel.cc). RecoverAt is Recover for a view of open_at_.
  Status RecoverAt(const ReadPoint& point) REQUIRES(mu_);
  // The read-only view serving ReadOptions::as_of (cached when its state is final).
  Result<std::shared_ptr<DB>> PastView(const ReadOptions& options) EXCLUDES(past_mu_);
  // Commits `edit` as this writer (flush and compaction): before the edit, on every attempt,
  // the latest manifest must still carry this writer's epoch (else Fenced) and `expired` must
  // be false (else TimedOut with `timeout_what` + " missed its deadline").
  Result<Manifest> CommitAsWriter(const Manifest& base, std::string_view committer,
                                  const std::function<bool(const Manifest& latest)>& expired,
                                  const std::string& timeout_what, const ManifestEdit& edit);
  // The error of an SST read that finds the object gone (SstReadOptions::missing_object_status).
  Status MissingSstStatus(const std::string& object_key) const;
  Status ReplayWal(uint64_t from_id, uint64_t min_epoch, bool fence, uint64_t* first_free_id)
      REQUIRES(mu_);
  void FlushLoop() EXCLUDES(mu_);
  void GcLoop() EXCLUDES(mu_);
  Status FlushOne(const Immutable& imm) EXCLUDES(mu_);
  SstBuilderOptions BuilderOptions() const;
  // The byte budget for a job's retained blocks (Options::prepopulate_block_cache), or null.
  std::shared_ptr<std::atomic<int64_t>> NewPrepopulateBudget() const;
  // Installs `committed` and its Version unless a newer manifest is installed already (a flush
  // and a compaction commit concurrently; either order of installing must end at the newest).
  void InstallLocked(const Manifest& committed, std::shared_ptr<Version> version) REQUIRES(mu_);
  SequenceNumber OldestSnapshotLocked() const REQUIRES(mu_);

  // Compaction (src/db/compaction.h). One job at a time: the background loop or CompactAll.
  void CompactionLoop() EXCLUDES(mu_);
  // Fills in what the picker leaves to the caller: snapshots, deadline, subcompactions.
  void PrepareSpecLocked(CompactionSpec* spec) const REQUIRES(mu_);
  // Runs the job, commits its edit and installs the result. Not under mu_.
  Status RunCompaction(const CompactionSpec& spec) EXCLUDES(mu_);
  Status CheckWritable() const REQUIRES(mu_);

  // Constant after Open.
  const std::string url_;
  const Options options_;
  // Counts every request the DB makes (DBStats::store); store_ is this wrapper.
  const std::shared_ptr<CountingStore> counting_;
  const std::shared_ptr<ObjectStore> store_;
  const std::shared_ptr<Clock> clock_;
  std::unique_ptr<ManifestStore> manifests_;
  std::shared_ptr<BlockCache> block_cache_;
  std::shared_ptr<DiskCache> disk_cache_;  // null without a disk cache
  SstReadOptions sst_read_options_;
  std::unique_ptr<SstCache> sst_cache_;
  std::unique_ptr<ThreadPool> wal_pool_;
  std::unique_ptr<ThreadPool> compaction_pool_;  // subcompactions
  std::unique_ptr<ThreadPool> read_pool_;        // parallel object reads (max_parallel_reads)
  std::unique_ptr<GarbageCollector> gc_;
  uint64_t epoch_ = 0;
  uint64_t sst_nonce_base_ = 0;

  mutable Mutex mu_;
  CondVar bg_cv_{&mu_};          // flush thread: work or stop
  CondVar stall_cv_{&mu_};       // writers waiting for room
  CondVar compaction_cv_{&mu_};  // compaction: work, stop, or a job finished
  CondVar gc_cv_{&mu_};          // GC thread: interval or stop
  std::shared_ptr<MemTable> mem_ GUARDED_BY(mu_);
  std::deque<Immutable> imm_ GUARDED_BY(mu_);  // oldest first
  std::shared_ptr<Version> version_ GUARDED_BY(mu_);
  // What the read path uses instead of mu_: the ReadState of mem_/imm_/version_, under its own
  // mutex held only to copy or swap the pointer (std::atomic<std::shared_ptr> would do, but
  // libstdc++ 12's lock bit is invisible to ThreadSanitizer); last_sequence_, stored after the
  // batch is in the memtable; and whether reads are refused (closed or fenced; the reason is
  // then read under mu_).
  mutable Mutex read_state_mu_ ACQUIRED_AFTER(mu_);
  std::shared_ptr<const ReadState> read_state_ GUARDED_BY(read_state_mu_);
  std::atomic<SequenceNumber> visible_sequence_{0};
  std::atomic<bool> reads_refused_{false};
  Manifest manifest_ GUARDED_BY(mu_);
  // manifest_.version(), readable without mu_ (for error messages of SST reads).
  std::atomic<uint64_t> installed_manifest_version_{0};
  SequenceNumber last_sequence_ GUARDED_BY(mu_) = 0;
  uint64_t last_commit_time_ GUARDED_BY(mu_) = 0;
  std::multiset<SequenceNumber> snapshots_ GUARDED_BY(mu_);
  // Set by Open, then constant: WalWriter is safe for concurrent use (appends happen under mu_,
  // so that WAL order is sequence order).
  std::unique_ptr<WalWriter> wal_;
  Status bg_error_ GUARDED_BY(mu_);
  bool closing_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  uint64_t mem_first_wal_id_ GUARDED_BY(mu_) = 0;     // WAL ids of mem_'s data start here
  uint64_t mem_first_wal_bytes_ GUARDED_BY(mu_) = 0;  // WAL bytes uploaded before mem_ began
  uint64_t mem_created_micros_ GUARDED_BY(mu_) = 0;
  // A job (background or CompactAll) is between pick and install.
  bool compaction_running_ GUARDED_BY(mu_) = false;
  // CompactAll owns compaction; the background loop waits.
  bool manual_compaction_ GUARDED_BY(mu_) = false;
  std::thread flush_thread_;
  std::thread compaction_thread_;
  std::atomic<bool> cancel_compaction_{false};
  std::thread gc_thread_;
  std::atomic<bool> abandon_on_close_{false};

  // Time travel: the point of a view opened by DB::OpenAt (constant), whether its state can no
  // longer change (set by Open), and the views ReadOptions::as_of reads, newest last.
  const std::optional<ReadPoint> open_at_;
  bool past_final_ = false;
  Mutex past_mu_;
  std::deque<std::pair<ReadPoint, std::shared_ptr<DB>>> past_views_ GUARDED_BY(past_mu_);

  Mutex epoch_mu_;  // one epoch confirmation at a time
  std::atomic<uint64_t> last_epoch_confirm_micros_{0};

  // Statistics.
  std::atomic<uint64_t> flushes_{0};
  std::atomic<uint64_t> write_stalls_{0};
  std::atomic<uint64_t> write_slowdowns_{0};
  std::atomic<uint64_t> flush_bytes_written_{0};
  std::atomic<uint64_t> compactions_{0};
  std::atomic<uint64_t> trivial_moves_{0};
  std::atomic<uint64_t> compactions_failed_{0};
  std::atomic<uint64_t> compaction_bytes_read_{0};
  std::atomic<uint64_t> compaction_bytes_written_{0};
  std::atomic<uint64_t> compaction_micros_{0};
  std::atomic<uint64_t> user_bytes_written_{0};
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_DB_IMPL_H_
