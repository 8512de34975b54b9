// SPDX-License-Identifier: Apache-2.0
#include "db/db_impl.h"

#include <algorithm>
#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <latch>

#include "db/compaction_picker.h"
#include "db/db_iterator.h"
#include "db/merging_iterator.h"
#include "db/time_travel.h"
#include "db/wal_protocol.h"
#include "format/sst_builder.h"
#include "format/wal_format.h"
#include "util/logging.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

// Checks sizes of every record against the limits in Options.
class BatchValidator final : public WriteBatch::Handler {
 public:
  explicit BatchValidator(const Options& o) : o_(o) {}
  Status Put(std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(CheckKey(key));
    if (value.size() > o_.max_value_bytes) {
      return Status::InvalidArgument("value of " + std::to_string(value.size()) +
                                     " bytes exceeds max_value_bytes (" +
                                     std::to_string(o_.max_value_bytes) + ")");
    }
    return Status::OK();
  }
  Status Delete(std::string_view key) override { return CheckKey(key); }
  // As RocksDB: begin > end is an error, begin == end an empty range (a no-op that still takes
  // its sequence number).
  Status DeleteRange(std::string_view begin, std::string_view end) override {
    RETURN_IF_ERROR(CheckKey(begin).WithContext("DeleteRange begin"));
    RETURN_IF_ERROR(CheckKey(end).WithContext("DeleteRange end"));
    if (begin > end) {
      return Status::InvalidArgument("DeleteRange: begin key is after end key");
    }
    return Status::OK();
  }

 private:
  Status CheckKey(std::string_view key) const {
    if (key.size() > o_.max_key_bytes) {
      return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                     " bytes exceeds max_key_bytes (" +
                                     std::to_string(o_.max_key_bytes) + ")");
    }
    return Status::OK();
  }
  const Options& o_;
};

// An iterator that keeps the read view it iterates alive.
class ViewIterator final : public Iterator {
 public:
  ViewIterator(std::unique_ptr<Iterator> inner, std::shared_ptr<void> pin)
      : inner_(std::move(inner)), pin_(std::move(pin)) {}
  bool Valid() const override { return inner_->Valid(); }
  void SeekToFirst() override { inner_->SeekToFirst(); }
  void SeekToLast() override { inner_->SeekToLast(); }
  void Seek(std::string_view t) override { inner_->Seek(t); }
  void SeekForPrev(std::string_view t) override { inner_->SeekForPrev(t); }
  void Next() override { inner_->Next(); }
  void Prev() override { inner_->Prev(); }
  std::string_view key() const override { return inner_->key(); }
  std::string_view value() const override { return inner_->value(); }
  Status status() const override { return inner_->status(); }

 private:
  std::unique_ptr<Iterator> inner_;
  std::shared_ptr<void> pin_;
};

// An iterator that is never valid and reports an error.
class ErrorIterator final : public Iterator {
 public:
  explicit ErrorIterator(Status s) : status_(std::move(s)) {}
  bool Valid() const override { return false; }
  void SeekToFirst() override {}
  void SeekToLast() override {}
  void Seek(std::string_view) override {}
  void SeekForPrev(std::string_view) override {}
  void Next() override {}
  void Prev() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  Status status() const override { return status_; }

 private:
  Status status_;
};

// True for stores where a request costs tens of milliseconds and money: S3, or a local store
// behind the simulated S3 latency profile. Decides the defaults that Options leaves unset (read
// unit, WAL PUT rate cap, WAL uploads in flight).
bool HasRemoteLatency(const ObjectStore& store) {
  return store.capabilities().latency_class == StoreLatencyClass::kRemote;
}

}  // namespace

std::shared_ptr<MemTable> DBImpl::NewMemTable() const {
  // Arena blocks small against the memtable limit, so a small memtable is not "full" at once.
  size_t block = std::clamp<size_t>(options_.memtable_bytes / 16, 1024, 64 * 1024);
  // A point-index bucket per 128 bytes of memtable: about one per entry of a 100-byte value,
  // for 6% of the memtable's memory.
  return std::make_shared<MemTable>(block, options_.memtable_bytes / 128);
}

class DBImpl::SnapshotImpl final : public Snapshot {
 public:
  explicit SnapshotImpl(SequenceNumber seq) : seq_(seq) {}
  uint64_t sequence() const override { return seq_; }

 private:
  const SequenceNumber seq_;
};

DBImpl::DBImpl(std::string url, const Options& options, std::shared_ptr<ObjectStore> store,
               std::optional<ReadPoint> open_at)
    : url_(std::move(url)),
      options_(options),
      counting_(std::make_shared<CountingStore>(std::move(store))),
      store_(counting_),
      clock_(options.clock ? options.clock : SystemClock()),
      open_at_(std::move(open_at)) {
  assert(!open_at_.has_value() || options_.read_only);
}

DBImpl::~DBImpl() {
  auto ignored = Close();
  (void)ignored;
}

Status DBImpl::Open() {
  assert(options_.Validate().ok());  // DB::Open checked them
  manifests_ = std::make_unique<ManifestStore>(store_, clock_);
  block_cache_ = BlockCache::Create(options_.block_cache_bytes);
  sst_read_options_.cache = block_cache_;
  read_pool_ = std::make_unique<ThreadPool>(options_.max_parallel_reads, "ckv-read",
                                            ThreadPool::Start::kOnDemand);
  // Scans read ahead in the background where a read waits for the network.
  if (HasRemoteLatency(*store_)) sst_read_options_.prefetch_pool = read_pool_.get();
  disk_cache_ = options_.disk_cache;
  if (disk_cache_ == nullptr && !options_.disk_cache_dir.empty()) {
    DiskCacheOptions dco;
    dco.dir = options_.disk_cache_dir;
    dco.capacity_bytes = options_.disk_cache_bytes;
    // Only bad options fail; a directory that cannot be used gives a disabled cache (logged).
    ASSIGN_OR_RETURN(disk_cache_, DiskCache::Open(dco));
  }
  sst_read_options_.disk_cache = disk_cache_;
  const bool remote_latency = HasRemoteLatency(*store_);
  // With a disk cache the store is read in whole parts anyway (PartReader), and a block read
  // is a local pread: read exactly the block, as on a local store, instead of decompressing a
  // whole 64 KiB unit of blocks per miss.
  sst_read_options_.read_unit_bytes =
      options_.read_unit_bytes.value_or(remote_latency && disk_cache_ == nullptr ? 64 * 1024 : 0);
  sst_read_options_.missing_object_status = [this](const std::string& key) {
    return MissingSstStatus(key);
  };

  sst_cache_ = std::make_unique<SstCache>(store_, sst_read_options_, read_pool_.get());
  sst_nonce_base_ = RandomSeed();
  if (!options_.read_only && !store_->capabilities().atomic_if_absent) {
    return Status::NotSupported(store_->Describe() +
                                " cannot create objects atomically if absent; cloudkv refuses to "
                                "run a writer there, because it could not fence a second writer");
  }
  {
    // No other thread exists yet: holding mu_ across recovery's I/O keeps nobody waiting.
    MutexLock lock(&mu_);
    mem_ = NewMemTable();
    mem_created_micros_ = clock_->MonotonicMicros();
    RETURN_IF_ERROR(Recover());
  }
  GarbageCollectorOptions gc_options;
  gc_options.writer_epoch = options_.read_only ? 0 : epoch_;
  gc_ = std::make_unique<GarbageCollector>(store_, manifests_.get(), clock_, gc_options);
  if (!options_.read_only) {
    flush_thread_ = std::thread([this] { FlushLoop(); });
    compaction_pool_ =
        std::make_unique<ThreadPool>(std::max(1, options_.max_subcompactions), "ckv-compact");
    if (!options_.disable_auto_compaction) {
      compaction_thread_ = std::thread([this] { CompactionLoop(); });
    }
    if (options_.gc_interval_ms > 0) gc_thread_ = std::thread([this] { GcLoop(); });
  }
  return Status::OK();
}

Status DBImpl::Recover() {
  if (open_at_.has_value()) return RecoverAt(*open_at_);
  auto latest = manifests_->LoadLatest();
  if (!latest.ok() && latest.status().IsNotFound()) {
    if (!options_.create_if_missing || options_.read_only) {
      return Status::NotFound("no database at " + url_);
    }
    // Options::Validate (called by DB::Open) checked gc_min_age_ms > max_clock_skew_ms.
    assert(options_.gc_min_age_ms > options_.max_clock_skew_ms);
    Manifest init;
    init.set_replay_point(1);
    init.set_next_wal_id(1);
    auto* settings = init.mutable_settings();
    settings->set_history_retention_micros(options_.history_retention_ms * 1000);
    settings->set_gc_min_age_micros(options_.gc_min_age_ms * 1000);
    settings->set_max_clock_skew_micros(options_.max_clock_skew_ms * 1000);
    init.set_committer("create");
    auto created = manifests_->Create(init);
    if (!created.ok() && !created.status().IsPreconditionFailed()) return created.status();
    latest = manifests_->LoadLatest();
  } else if (latest.ok() && options_.error_if_exists) {
    return Status::InvalidArgument("a database already exists at " + url_);
  }
  if (!latest.ok()) return latest.status();
  Manifest m = std::move(latest).value();

  if (!options_.read_only) {
    // Take the next writer epoch: latest + 1 of the re-read manifest on every attempt.
    ASSIGN_OR_RETURN(m, manifests_->Commit(
                            m,
                            [](const Manifest& base, Manifest* next) {
                              next->set_writer_epoch(base.writer_epoch() + 1);
                              return Status::OK();
                            },
                            "open"));
    epoch_ = m.writer_epoch();
    last_epoch_confirm_micros_ = clock_->MonotonicMicros();
  }
  manifest_ = m;
  installed_manifest_version_.store(m.version(), std::memory_order_release);
  mem_first_wal_id_ = m.replay_point();
  last_sequence_ = m.last_sequence();
  last_commit_time_ = m.last_commit_time_micros();
  ASSIGN_OR_RETURN(version_, sst_cache_->BuildVersion(m));

  uint64_t first_free = 0;
  RETURN_IF_ERROR(ReplayWal(m.replay_point(), m.replay_epoch(), !options_.read_only, &first_free));
  visible_sequence_.store(last_sequence_, std::memory_order_release);
  PublishReadStateLocked();
  if (!options_.read_only) {
    WalWriterOptions wo;
    wo.wal_max_bytes = options_.wal_max_bytes;
    wo.flush_interval_micros = options_.wal_flush_interval_ms * 1000;
    double cap = options_.max_wal_puts_per_second;
    if (cap < 0) cap = HasRemoteLatency(*store_) ? 10 : 0;
    wo.max_puts_per_second = cap;
    wo.max_inflight =
        std::max(1, options_.max_inflight_wal_uploads.value_or(HasRemoteLatency(*store_) ? 4 : 1));
    wo.max_attempts = options_.wal_upload_max_attempts;
    wal_pool_ = std::make_unique<ThreadPool>(wo.max_inflight, "ckv-wal");
    wal_ = std::make_unique<WalWriter>(store_, clock_, wal_pool_.get(), epoch_, first_free,
                                       last_sequence_, wo);
  }
  LOG_INFO("opened {} (epoch {}, manifest {}, last sequence {}, next WAL id {})", url_, epoch_,
           manifest_.version(), last_sequence_, first_free);
  return Status::OK();
}

Status DBImpl::ReplayWal(uint64_t from_id, uint64_t min_epoch, bool fence,
                         uint64_t* first_free_id) {
  static thread_local Random rnd(RandomSeed());
  WalReplayOptions ro;
  ro.min_epoch = min_epoch;
  ro.fence = fence;
  ro.epoch = epoch_;
  ro.fence_nonce = rnd.Next64();
  const SequenceNumber in_ssts = manifest_.last_sequence();
  // The callback updates these copies (the analysis cannot see mu_ held inside a lambda).
  MemTable* const mem = mem_.get();
  SequenceNumber last_sequence = last_sequence_;
  uint64_t last_commit_time = last_commit_time_;
  auto next = cloudkv::ReplayWal(store_.get(), from_id, ro, [&](const WalObject& obj) {
    for (const auto& b : obj.batches) {
      if (b.first_sequence + b.count - 1 <= in_ssts) continue;  // already in SSTs
      WriteBatch batch;
      RETURN_IF_ERROR(batch.SetData(b.data, b.count).WithContext(WalObjectKey(obj.id)));
      RETURN_IF_ERROR(InsertBatchIntoMemTable(batch, b.first_sequence, mem));
      last_sequence = std::max(last_sequence, b.first_sequence + b.count - 1);
      last_commit_time = std::max(last_commit_time, b.commit_time_micros);
    }
    return Status::OK();
  });
  last_sequence_ = last_sequence;
  last_commit_time_ = last_commit_time;
  if (!next.ok()) return next.status().WithContext("opening " + url_);
  *first_free_id = *next;
  return Status::OK();
}

Result<Manifest> DBImpl::CommitAsWriter(const Manifest& base, std::string_view committer,
                                        const std::function<bool(const Manifest&)>& expired,
                                        const std::string& timeout_what, const ManifestEdit& edit) {
  const uint64_t epoch = epoch_;
  return manifests_->Commit(
      base,
      [&](const Manifest& latest, Manifest* next) -> Status {
        if (latest.writer_epoch() != epoch) {
          return Status::Fenced("writer epoch " + std::to_string(epoch) + " was replaced by " +
                                std::to_string(latest.writer_epoch()));
        }
        if (expired(latest)) return Status::TimedOut(timeout_what + " missed its deadline");
        return edit(latest, next);
      },
      committer);
}

Status DBImpl::MissingSstStatus(const std::string& object_key) const {
  const std::string version =
      std::to_string(installed_manifest_version_.load(std::memory_order_acquire));
  if (options_.read_only) {
    // A read-only open never reloads the manifest and holds no lease: GC deletes the SSTs that
    // newer manifests replaced once they are older than gc_min_age.
    return Status::IOError("SST object '" + object_key + "' of " + url_ +
                           " is gone: garbage collection deleted it after newer manifests "
                           "replaced manifest " +
                           version +
                           ", which this read-only open loaded; reopen the database to read its "
                           "current state (if the current manifest still lists the object, the "
                           "database is damaged: run `cloudkv verify`)");
  }
  return Status::Corruption("SST object '" + object_key + "' of " + url_ +
                            " is missing, though manifest " + version +
                            " of this writer references it");
}

Status DBImpl::CheckWritable() const {
  if (closed_ || closing_) return Status::InvalidArgument("database " + url_ + " is closed");
  if (options_.read_only) return Status::NotSupported("database " + url_ + " is open read-only");
  if (!bg_error_.ok()) return bg_error_;
  return wal_->health();
}

Status DBImpl::ValidateBatch(const WriteBatch& batch) const {
  if (batch.ByteSize() > options_.max_batch_bytes) {
    return Status::InvalidArgument("batch of " + std::to_string(batch.ByteSize()) +
                                   " bytes exceeds max_batch_bytes");
  }
  BatchValidator validator(options_);
  return batch.Iterate(&validator);
}

Status DBImpl::MakeRoomForWrite() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.write_stall_timeout_ms);
  bool stalled = false;
  bool slowed_down = false;
  while (true) {
    RETURN_IF_ERROR(CheckWritable());
    bool mem_full = mem_->ApproximateMemoryUsage() >= options_.memtable_bytes;
    uint64_t now = clock_->MonotonicMicros();
    bool mem_old =
        !mem_->empty() && now - mem_created_micros_ >= options_.memtable_max_age_ms * 1000;
    // The WAL tail a recovery would replay for this memtable (docs/design.md §5: bounded).
    bool tail_long = wal_->next_id() - mem_first_wal_id_ >= options_.max_wal_tail_objects ||
                     wal_->upload_bytes() - mem_first_wal_bytes_ >= options_.max_wal_tail_bytes;
    bool imm_full = static_cast<int>(imm_.size()) >= options_.max_immutable_memtables;
    bool wal_full = wal_->unflushed_bytes() >= options_.max_unflushed_wal_bytes;
    if ((mem_full || mem_old || tail_long) && !mem_->empty() && !imm_full) {
      SwitchMemtableLocked();
      continue;
    }
    // Backpressure from L0 (docs/design.md §9): reads probe every L0 SST, so L0 must not grow
    // without bound while compaction falls behind.
    const int l0_files = static_cast<int>(version_->l0.size());
    const bool l0_stop = l0_files >= options_.l0_stop_writes_trigger;
    if (!(mem_full && imm_full) && !wal_full && !l0_stop) {
      if (l0_files >= options_.l0_slowdown_writes_trigger && !slowed_down) {
        // A short delay per write, as RocksDB, gives compaction room before writes must stop.
        slowed_down = true;
        write_slowdowns_++;
        compaction_cv_.SignalAll();
        mu_.Unlock();  // retaken before returning: the caller's MutexLock still holds it then
        clock_->SleepForMicros(1000);
        mu_.Lock();
        continue;
      }
      return Status::OK();
    }
    if (!stalled) {
      stalled = true;
      write_stalls_++;
      if (l0_stop) compaction_cv_.SignalAll();
    }
    if (!stall_cv_.WaitUntil(&mu_, deadline)) {
      return Status::Busy("write stalled for " + std::to_string(options_.write_stall_timeout_ms) +
                          " ms: " +
                          (l0_stop ? "L0 has " + std::to_string(l0_files) +
                                         " SSTs (l0_stop_writes_trigger) and compaction has not "
                                         "caught up"
                                   : std::string("memtables or unflushed WAL bytes are at their "
                                                 "limits")));
    }
  }
}

void DBImpl::SwitchMemtableLocked() {
  uint64_t boundary = wal_->Seal();
  imm_.push_back(Immutable{mem_, boundary});
  mem_ = NewMemTable();
  PublishReadStateLocked();
  mem_created_micros_ = clock_->MonotonicMicros();
  mem_first_wal_id_ = boundary;
  mem_first_wal_bytes_ = wal_->upload_bytes();
  bg_cv_.SignalAll();
}

Result<SequenceNumber> DBImpl::WriteToMemory(const WriteBatch& batch, bool durable_waiter,
                                             WalWriter::Callback* done) {
  RETURN_IF_ERROR(ValidateBatch(batch));
  if (batch.Count() == 0) {
    MutexLock lock(&mu_);
    // Refused as any batch would be when closed or read-only (a read-only open has no WAL to
    // wait on); otherwise nothing to write.
    if (closed_ || closing_) return Status::InvalidArgument("database " + url_ + " is closed");
    if (options_.read_only) return Status::NotSupported("database " + url_ + " is open read-only");
    if (done != nullptr && *done) (*done)(Status::OK(), last_sequence_);
    return last_sequence_;
  }
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(MakeRoomForWrite());
  const SequenceNumber first = last_sequence_ + 1;
  const SequenceNumber last = last_sequence_ + batch.Count();
  last_commit_time_ = std::max(clock_->NowMicros(), last_commit_time_ + 1);
  Status s = InsertBatchIntoMemTable(batch, first, mem_.get());
  assert(s.ok());  // validated above
  (void)s;
  last_sequence_ = last;
  visible_sequence_.store(last, std::memory_order_release);
  user_bytes_written_ += batch.ByteSize();
  wal_->Append(first, last, last_commit_time_, batch, durable_waiter,
               done != nullptr ? std::move(*done) : WalWriter::Callback());
  return last;
}

Status DBImpl::Write(const WriteOptions& options, const WriteBatch& batch, uint64_t* sequence) {
  ASSIGN_OR_RETURN(SequenceNumber seq, WriteToMemory(batch, options.durable, /*done=*/nullptr));
  if (sequence != nullptr) *sequence = seq;
  if (!options.durable) return Status::OK();
  return wal_->WaitForDurable(seq);
}

void DBImpl::WriteAsync(const WriteBatch& batch,
                        std::function<void(Status status, uint64_t sequence)> done) {
  auto r = WriteToMemory(batch, true, &done);
  if (!r.ok()) done(r.status(), 0);  // not moved from on an error
}

Status DBImpl::WaitForDurable(uint64_t sequence) {
  if (options_.read_only) return Status::OK();
  return wal_->WaitForDurable(sequence);
}

Status DBImpl::ConfirmEpochIfDue() {
  if (options_.read_only) return Status::OK();
  uint64_t now = clock_->MonotonicMicros();
  if (now - last_epoch_confirm_micros_.load() < options_.epoch_check_interval_ms * 1000) {
    return Status::OK();
  }
  MutexLock confirm(&epoch_mu_);
  if (clock_->MonotonicMicros() - last_epoch_confirm_micros_.load() <
      options_.epoch_check_interval_ms * 1000) {
    return Status::OK();  // another reader confirmed it meanwhile
  }
  Manifest known;
  {
    MutexLock lock(&mu_);
    known = manifest_;
  }
  ASSIGN_OR_RETURN(bool newer, manifests_->NewerExists(known));
  if (newer) {
    ASSIGN_OR_RETURN(Manifest latest, manifests_->LoadLatest(known.version() + 1));
    if (latest.writer_epoch() != epoch_) {
      Status fenced =
          Status::Fenced("writer epoch " + std::to_string(epoch_) + " of " + url_ +
                         " was replaced by epoch " + std::to_string(latest.writer_epoch()));
      MutexLock lock(&mu_);
      SetBgErrorLocked(fenced);
      return fenced;
    }
  }
  last_epoch_confirm_micros_ = clock_->MonotonicMicros();
  return Status::OK();
}

Result<DBImpl::ReadView> DBImpl::GetReadView(const ReadOptions& options) {
  RETURN_IF_ERROR(ConfirmEpochIfDue());
  if (reads_refused_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    if (closed_) return Status::InvalidArgument("database " + url_ + " is closed");
    if (bg_error_.IsFenced()) return bg_error_;
  }
  // The sequence first, then the sources: every source published before the sequence was
  // stored (release) is seen (acquire), so the view holds every entry at or below it.
  ReadView view;
  if (options.snapshot != nullptr) {
    view.sequence = options.snapshot->sequence();
  } else if (options.read_unflushed || options_.read_only) {
    view.sequence = visible_sequence_.load(std::memory_order_acquire);
  } else {
    view.sequence = wal_->durable_sequence();
  }
  {
    MutexLock lock(&read_state_mu_);
    view.state = read_state_;
  }
  return view;
}

void DBImpl::PublishReadStateLocked() {
  auto state = std::make_shared<ReadState>();
  state->mem = mem_;
  for (auto it = imm_.rbegin(); it != imm_.rend(); ++it) state->imm.push_back(it->mem);
  state->version = version_;
  std::shared_ptr<const ReadState> old;  // released after the lock is dropped
  MutexLock lock(&read_state_mu_);
  old = std::exchange(read_state_, std::move(state));
}

void DBImpl::SetBgErrorLocked(const Status& s) {
  if (bg_error_.ok()) bg_error_ = s;
  if (bg_error_.IsFenced()) reads_refused_.store(true, std::memory_order_release);
}

Result<std::string> DBImpl::Get(const ReadOptions& options, std::string_view key) {
  if (options.as_of.has_value()) {
    ASSIGN_OR_RETURN(std::shared_ptr<DB> past, PastView(options));
    ReadOptions at = options;
    at.as_of.reset();
    return past->Get(at, key);
  }
  ASSIGN_OR_RETURN(ReadView view, GetReadView(options));
  bool not_cached = false;
  return GetFromView(view, options, key, /*cache_only=*/false, &not_cached);
}

Result<std::string> DBImpl::GetFromView(const ReadView& view, const ReadOptions& options,
                                        std::string_view key, bool cache_only, bool* not_cached) {
  // Sources newest first; the point entry found is hidden if a range tombstone of it or of a
  // newer source, visible at the snapshot, is newer than the entry. Only sources that have
  // range tombstones are asked about them.
  LookupResult r;
  SequenceNumber covering = 0;
  auto get_from_memtable = [&](const MemTable& mem) {
    if (mem.HasRangeDeletions()) {
      covering = std::max(covering, mem.GetRangeTombstones()->MaxCoveringSeq(key, view.sequence));
    }
    mem.Get(key, view.sequence, &r);
  };
  const ReadState& state = *view.state;
  get_from_memtable(*state.mem);
  for (size_t i = 0; r.state == LookupState::kNotPresent && i < state.imm.size(); i++) {
    get_from_memtable(*state.imm[i]);
  }
  if (r.state == LookupState::kNotPresent) {
    RETURN_IF_ERROR(
        state.version->Get(key, view.sequence, &r, &covering, options.fill_cache, cache_only));
  }
  if (r.state == LookupState::kNotCached) {
    *not_cached = true;
    return Status::NotFound("not cached");  // the caller reads the key again with I/O
  }
  if (r.state == LookupState::kFound && covering <= r.sequence) return std::move(r.value);
  return Status::NotFound("key not found");
}

std::vector<Result<std::string>> DBImpl::MultiGet(const ReadOptions& options,
                                                  std::span<const std::string_view> keys) {
  std::vector<Result<std::string>> out;
  if (options.as_of.has_value()) {
    auto past = PastView(options);
    if (!past.ok()) return std::vector<Result<std::string>>(keys.size(), past.status());
    ReadOptions at = options;
    at.as_of.reset();
    return (*past)->MultiGet(at, keys);
  }
  out.reserve(keys.size());
  auto view = GetReadView(options);
  if (!view.ok()) {
    for (size_t i = 0; i < keys.size(); i++) out.push_back(view.status());
    return out;
  }
  // First pass, on this thread: every key that memory answers (memtables, block cache).
  std::vector<size_t> pending;
  for (size_t i = 0; i < keys.size(); i++) {
    bool not_cached = false;
    out.push_back(GetFromView(*view, options, keys[i], /*cache_only=*/true, &not_cached));
    if (not_cached) pending.push_back(i);
  }
  if (pending.empty()) return out;
  // Second pass: the others' object reads at once, one of them on this thread. Reads of the
  // same block are made once by the SST reader's part fetcher (with a disk cache) or hit the
  // block cache once the first has filled it.
  auto read = [&](size_t i) {
    bool not_cached = false;
    out[i] = GetFromView(*view, options, keys[i], /*cache_only=*/false, &not_cached);
  };
  if (pending.size() > 1) {
    std::latch done(static_cast<std::ptrdiff_t>(pending.size() - 1));
    for (size_t p = 1; p < pending.size(); p++) {
      read_pool_->Submit([&, i = pending[p]] {
        read(i);
        done.count_down();
      });
    }
    read(pending[0]);
    done.wait();
  } else {
    read(pending[0]);
  }
  return out;
}

std::unique_ptr<Iterator> DBImpl::NewIterator(const ReadOptions& options) {
  if (options.as_of.has_value()) {
    auto past = PastView(options);
    if (!past.ok()) return std::make_unique<ErrorIterator>(past.status());
    ReadOptions at = options;
    at.as_of.reset();
    // The iterator keeps the view open.
    return NewPastIterator((*past)->NewIterator(at), *past);
  }
  auto view = GetReadView(options);
  if (!view.ok()) return std::make_unique<ErrorIterator>(view.status());
  auto pinned = std::make_shared<ReadView>(std::move(view).value());
  std::vector<std::unique_ptr<Iterator>> children;
  std::vector<RangeTombstoneListPtr> tombstones;
  const ReadState& state = *pinned->state;
  children.push_back(state.mem->NewIterator());
  if (state.mem->HasRangeDeletions()) tombstones.push_back(state.mem->GetRangeTombstones());
  for (const auto& m : state.imm) {
    children.push_back(m->NewIterator());
    if (m->HasRangeDeletions()) tombstones.push_back(m->GetRangeTombstones());
  }
  state.version->AddIterators(&children, options.fill_cache);
  state.version->AddRangeTombstones(&tombstones);
  auto internal = NewMergingIterator(std::move(children));
  auto user = NewDBIterator(std::move(internal), pinned->sequence, options.lower_bound,
                            options.upper_bound, std::move(tombstones));
  return std::make_unique<ViewIterator>(std::move(user), std::move(pinned));
}

const Snapshot* DBImpl::GetSnapshot() {
  MutexLock lock(&mu_);
  SequenceNumber seq =
      options_.read_only || wal_ == nullptr ? last_sequence_ : wal_->durable_sequence();
  snapshots_.insert(seq);
  return new SnapshotImpl(seq);  // owned by the caller until ReleaseSnapshot
}

void DBImpl::ReleaseSnapshot(const Snapshot* snapshot) {
  if (snapshot == nullptr) return;
  MutexLock lock(&mu_);
  auto it = snapshots_.find(snapshot->sequence());
  if (it != snapshots_.end()) snapshots_.erase(it);
  delete static_cast<const SnapshotImpl*>(snapshot);
}

void DBImpl::FlushLoop() {
  // A flush that missed its commit deadline left an orphan SST for GC; it is redone with a new
  // SST a few times before the writer gives up.
  constexpr int kMaxFlushTimeouts = 3;
  int timeouts = 0;
  MutexLock lock(&mu_);
  while (true) {
    if (!imm_.empty() && bg_error_.ok()) {
      Immutable imm = imm_.front();
      lock.Unlock();
      Status s = FlushOne(imm);
      lock.Lock();
      timeouts = s.IsTimedOut() ? timeouts + 1 : 0;
      if (s.IsTimedOut() && timeouts < kMaxFlushTimeouts && !closing_) {
        LOG_WARN("flush of {} retried: {}", url_, s.ToString());
        continue;
      }
      if (!s.ok()) {
        LOG_ERROR("flush of {} failed: {}", url_, s.ToString());
        SetBgErrorLocked(s);
      }
      stall_cv_.SignalAll();
      compaction_cv_.SignalAll();
      continue;
    }
    if (closing_) break;
    // Age-based flush of an idle memtable (docs/design.md §5: bounded recovery work).
    uint64_t now = clock_->MonotonicMicros();
    uint64_t max_age = options_.memtable_max_age_ms * 1000;
    if (bg_error_.ok() && !mem_->empty() && now - mem_created_micros_ >= max_age &&
        static_cast<int>(imm_.size()) < options_.max_immutable_memtables) {
      SwitchMemtableLocked();
      continue;
    }
    uint64_t wait_micros =
        mem_->empty()
            ? 1'000'000
            : std::max<uint64_t>(1000, max_age - std::min(max_age, now - mem_created_micros_));
    bg_cv_.WaitFor(&mu_, std::chrono::microseconds(std::min<uint64_t>(wait_micros, 1'000'000)));
  }
}

Status DBImpl::FlushOne(const Immutable& imm) {
  // Only durable data goes into SSTs, so an SST never holds a write the WAL could lose.
  RETURN_IF_ERROR(wal_->WaitForDurable(imm.mem->LargestSequence()));
  FlushJobOptions job;
  job.builder = BuilderOptions();
  job.epoch = epoch_;
  job.store = store_;
  job.clock = clock_;
  job.read_options = sst_read_options_;
  job.prepopulate_budget = NewPrepopulateBudget();
  ASSIGN_OR_RETURN(FlushJobOutput out, RunFlushJob(*imm.mem, job));
  const bool has_sst = out.has_sst;
  const proto::SstMeta& meta = out.meta;
  const uint64_t now = out.created_micros;
  if (has_sst) sst_cache_->Add(meta.object_key(), out.reader);

  Manifest base;
  uint64_t oldest_snapshot;
  uint64_t commit_time;  // last_commit_time_ is written by writers under mu_
  {
    MutexLock lock(&mu_);
    base = manifest_;
    oldest_snapshot = OldestSnapshotLocked();
    commit_time = last_commit_time_;
  }
  // GC deletes an uncommitted SST once its name is gc_min_age old, so the commit must land well
  // within that: after half of it, abort (the SST stays an orphan) and let FlushLoop redo it.
  const uint64_t commit_deadline = now + base.settings().gc_min_age_micros() / 2;
  const uint64_t epoch = epoch_;  // CommitAsWriter checks the latest manifest still carries it
  const uint64_t next_wal = wal_->next_id();
  const SequenceNumber largest = imm.mem->LargestSequence();
  ASSIGN_OR_RETURN(
      Manifest committed,
      CommitAsWriter(
          base, "writer",
          [&](const Manifest& latest) {
            return latest.settings().gc_min_age_micros() > 0 &&
                   clock_->NowMicros() > commit_deadline;
          },
          "flush commit of " + (has_sst ? meta.object_key() : std::string("a memtable")) +
              " (due within half of gc_min_age)",
          [&](const Manifest& latest, Manifest* next) {
            if (has_sst) {
              *next->add_l0() = meta;
              // Newest first.
              std::rotate(next->mutable_l0()->rbegin(), next->mutable_l0()->rbegin() + 1,
                          next->mutable_l0()->rend());
            }
            if (imm.wal_boundary > latest.replay_point()) {
              // This writer's first WAL id may be taken by a fenced writer's late upload (its
              // segment then moves up): replay from here must skip older epochs.
              next->set_replay_point(imm.wal_boundary);
              next->set_replay_epoch(epoch);
            }
            next->set_next_wal_id(std::max(latest.next_wal_id(), next_wal));
            next->set_last_sequence(std::max(latest.last_sequence(), largest));
            next->set_last_commit_time_micros(
                std::max(latest.last_commit_time_micros(), commit_time));
            next->set_oldest_snapshot_seq(oldest_snapshot);
            return Status::OK();
          }));
  // Committed: the SST is live once installed, and its blocks are in the cache by then.
  if (out.reader != nullptr && out.retained != nullptr) out.reader->Prepopulate(*out.retained);
  out.retained.reset();
  ASSIGN_OR_RETURN(auto version, sst_cache_->BuildVersion(committed));
  MutexLock lock(&mu_);
  InstallLocked(committed, std::move(version));
  assert(!imm_.empty() && imm_.front().mem == imm.mem);
  imm_.pop_front();
  PublishReadStateLocked();
  flushes_++;
  if (out.has_sst) flush_bytes_written_ += out.bytes;  // an empty memtable uploads nothing
  last_epoch_confirm_micros_ = clock_->MonotonicMicros();
  return Status::OK();
}

Status DBImpl::Flush() {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckWritable());
  if (!mem_->empty()) {
    while (static_cast<int>(imm_.size()) >= options_.max_immutable_memtables && bg_error_.ok()) {
      stall_cv_.Wait(&mu_);
    }
    RETURN_IF_ERROR(CheckWritable());
    // A writer may have sealed the memtable while this thread waited: never seal an empty one.
    if (!mem_->empty()) SwitchMemtableLocked();
  }
  while (!imm_.empty() && bg_error_.ok()) stall_cv_.Wait(&mu_);
  return bg_error_;
}

Status DBImpl::CollectGarbage() {
  {
    MutexLock lock(&mu_);
    if (closed_) return Status::InvalidArgument("database " + url_ + " is closed");
    if (bg_error_.IsFenced()) return bg_error_;
  }
  // No lock across the pass: it is all object-store I/O.
  auto pass = gc_->RunOnce([this] { return sst_cache_->LiveSstKeys(); });
  if (!pass.ok()) {
    if (pass.status().IsFenced() && !options_.read_only) {
      MutexLock lock(&mu_);
      SetBgErrorLocked(pass.status());
    }
    return pass.status();
  }
  return Status::OK();
}

void DBImpl::GcLoop() {
  MutexLock lock(&mu_);
  while (true) {
    const auto due =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.gc_interval_ms);
    while (!closing_ && gc_cv_.WaitUntil(&mu_, due)) {
    }
    if (closing_ || bg_error_.IsFenced()) break;
    lock.Unlock();
    Status s = CollectGarbage();
    lock.Lock();
    if (!s.ok() && !closing_) LOG_WARN("GC of {} failed: {}", url_, s.ToString());
  }
}

Status DBImpl::Close() {
  MutexLock lock(&mu_);
  if (closed_) return Status::OK();
  Status result;
  if (!options_.read_only && wal_ != nullptr) {
    // Make everything durable, then leave the memtable for the next open's replay: the WAL
    // tail is bounded by max_wal_tail_objects, and closing stays one round of uploads.
    closing_ = true;
    cancel_compaction_ = true;
    compaction_cv_.SignalAll();
    lock.Unlock();
    result = wal_->Close(abandon_on_close_ ? 0 : options_.write_stall_timeout_ms * 1000);
    lock.Lock();
    bg_cv_.SignalAll();
    gc_cv_.SignalAll();
    lock.Unlock();
    if (gc_) gc_->Cancel();
    if (flush_thread_.joinable()) flush_thread_.join();
    if (compaction_thread_.joinable()) compaction_thread_.join();
    if (gc_thread_.joinable()) gc_thread_.join();
    lock.Lock();
    // A CompactAll on another thread sees the cancellation and returns Busy.
    while (compaction_running_) compaction_cv_.Wait(&mu_);
    if (result.IsInvalidArgument()) result = Status::OK();  // already closed
    if (result.ok() && !bg_error_.ok() && !bg_error_.IsFenced()) result = bg_error_;
  }
  closed_ = true;
  reads_refused_.store(true, std::memory_order_release);
  return result;
}

DBStats DBImpl::GetStats() {
  DBStats s;
  MutexLock lock(&mu_);
  s.last_sequence = last_sequence_;
  s.durable_sequence = wal_ ? wal_->durable_sequence() : last_sequence_;
  s.writer_epoch = epoch_;
  s.manifest_version = manifest_.version();
  s.memtable_bytes = mem_ ? mem_->ApproximateMemoryUsage() : 0;
  s.immutable_memtables = imm_.size();
  if (wal_) {
    s.unflushed_wal_bytes = wal_->unflushed_bytes();
    WalWriterStats ws = wal_->stats();
    s.wal_uploads = ws.uploads;
    s.wal_upload_bytes = ws.upload_bytes;
    s.wal_upload_micros = ws.upload_micros_total;
    s.wal_batches = ws.batches;
  }
  s.flushes = flushes_;
  if (version_) {
    s.l0_files = version_->l0.size();
    s.level_bytes.push_back(version_->LevelBytes(0));
    for (size_t i = 0; i < version_->levels.size(); i++) {
      s.level_files.push_back(version_->levels[i].size());
      s.level_bytes.push_back(version_->LevelBytes(static_cast<int>(i) + 1));
    }
  }
  s.user_bytes_written = user_bytes_written_;
  if (gc_) {
    GcPassStats gc = gc_->stats();
    s.gc_runs = gc.runs;
    s.gc_objects_deleted = gc.objects_deleted();
    s.gc_bytes_reclaimed = gc.bytes_reclaimed;
    s.gc_manifests_deleted = gc.manifests_deleted;
    s.gc_ssts_deleted = gc.ssts_deleted;
    s.gc_wal_objects_deleted = gc.wal_objects_deleted;
  }
  s.write_stalls = write_stalls_;
  s.write_slowdowns = write_slowdowns_;
  s.flush_bytes_written = flush_bytes_written_;
  s.compactions = compactions_;
  s.trivial_moves = trivial_moves_;
  s.compactions_failed = compactions_failed_;
  s.compaction_bytes_read = compaction_bytes_read_;
  s.compaction_bytes_written = compaction_bytes_written_;
  s.compaction_micros = compaction_micros_;
  s.pending_compaction_bytes = EstimatePendingCompactionBytes(manifest_, options_);
  if (s.user_bytes_written > 0) {
    s.write_amplification =
        static_cast<double>(s.flush_bytes_written + s.compaction_bytes_written) /
        static_cast<double>(s.user_bytes_written);
  }
  if (s.compaction_micros > 0) {
    s.compaction_bytes_per_second =
        static_cast<double>(s.compaction_bytes_written) * 1e6 / s.compaction_micros;
  }
  if (block_cache_) {
    auto cs = block_cache_->GetStats();
    s.block_cache_hits = cs.hits;
    s.block_cache_misses = cs.misses;
    s.block_cache_bytes = cs.bytes;
    s.block_cache_evictions = cs.evictions;
    s.block_cache_capacity_bytes = cs.capacity_bytes;
  }
  if (disk_cache_) {
    const DiskCache::Stats ds = disk_cache_->GetStats();
    s.disk_cache_hits = ds.hits;
    s.disk_cache_misses = ds.misses;
    s.disk_cache_bytes_read = ds.bytes_read;
    s.disk_cache_bytes_inserted = ds.bytes_inserted;
    s.disk_cache_evictions = ds.evictions;
    s.disk_cache_entries = ds.entries;
    s.disk_cache_bytes = ds.bytes;
    s.disk_cache_capacity_bytes = ds.capacity_bytes;
    s.disk_cache_corrupt_parts_dropped = ds.corrupt_parts_dropped;
    s.disk_cache_write_errors = ds.write_errors;
    s.disk_cache_disabled = ds.disabled;
  }
  const StoreCounters c = counting_->Snapshot();
  s.store.get = c.Requests(StoreOp::kGet);
  s.store.head = c.Requests(StoreOp::kHead);
  s.store.put = c.Requests(StoreOp::kPut);
  s.store.del = c.Requests(StoreOp::kDelete);
  s.store.list = c.Requests(StoreOp::kList);
  for (size_t i = 0; i < kNumStoreOps; i++) s.store.errors += c.errors[i];
  s.store.bytes_read = c.get_bytes;
  s.store.bytes_written = c.put_bytes;
  s.store.estimated_cost_dollars = c.EstimatedCostDollars(options_.request_prices);
  return s;
}

}  // namespace cloudkv
