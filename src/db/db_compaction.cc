// SPDX-License-Identifier: Apache-2.0
// DBImpl's side of compaction (docs/engine.md "Compaction"): the background loop, CompactAll,
// committing a job's edit and installing the result. The jobs themselves are in compaction.cc.
#include <algorithm>

#include "db/compaction_picker.h"
#include "db/db_impl.h"
#include "util/logging.h"
#include "util/status_macros.h"

namespace cloudkv {

std::shared_ptr<std::atomic<int64_t>> DBImpl::NewPrepopulateBudget() const {
  if (!options_.prepopulate_block_cache || block_cache_ == nullptr) return nullptr;
  const size_t capacity = block_cache_->capacity_bytes();
  if (capacity == 0) return nullptr;
  return std::make_shared<std::atomic<int64_t>>(static_cast<int64_t>(capacity / 2));
}

SstBuilderOptions DBImpl::BuilderOptions() const {
  SstBuilderOptions bo;
  bo.block_size = options_.block_size;
  bo.compression = options_.compression;
  bo.bloom_bits_per_key = options_.bloom_bits_per_key;
  return bo;
}

SequenceNumber DBImpl::OldestSnapshotLocked() const {
  return snapshots_.empty() ? last_sequence_ : *snapshots_.begin();
}

void DBImpl::InstallLocked(const Manifest& committed, std::shared_ptr<Version> version) {
  if (committed.version() <= manifest_.version()) return;  // a newer one is installed already
  manifest_ = committed;
  installed_manifest_version_.store(committed.version(), std::memory_order_release);
  version_ = std::move(version);
  PublishReadStateLocked();
  last_epoch_confirm_micros_ = clock_->MonotonicMicros();
  stall_cv_.SignalAll();
  compaction_cv_.SignalAll();
}

void DBImpl::PrepareSpecLocked(CompactionSpec* spec) const {
  spec->snapshots.assign(snapshots_.begin(), snapshots_.end());
  spec->snapshots.erase(std::unique(spec->snapshots.begin(), spec->snapshots.end()),
                        spec->snapshots.end());
  spec->max_subcompactions = std::max(1, options_.max_subcompactions);
  // Commit well within gc_min_age (a DB setting), or GC could delete the uploads of a job that
  // still commits: GC only deletes unreferenced objects older than gc_min_age.
  uint64_t deadline_micros = options_.compaction_deadline_ms * 1000;
  if (deadline_micros == 0) deadline_micros = manifest_.settings().gc_min_age_micros() / 4;
  spec->deadline_micros = deadline_micros == 0 ? 0 : clock_->MonotonicMicros() + deadline_micros;
}

Status DBImpl::RunCompaction(const CompactionSpec& spec) {
  const uint64_t start = clock_->MonotonicMicros();
  CompactionEnv env;
  env.store = store_;
  env.clock = clock_;
  env.readers = sst_cache_.get();
  env.read_options = sst_read_options_;
  env.builder_options = BuilderOptions();
  env.epoch = epoch_;
  env.filter = options_.compaction_filter;
  env.pool = compaction_pool_.get();
  env.cancel = &cancel_compaction_;
  env.prepopulate_budget = NewPrepopulateBudget();
  CompactionJob job(spec, env);
  auto result = job.Run();
  if (!result.ok()) {
    compactions_failed_++;
    return result.status().WithContext("compaction " + spec.ToString());
  }
  std::vector<proto::SstMeta> outputs;
  for (auto& out : result->outputs) {
    sst_cache_->Add(out.meta.object_key(), out.reader);
    outputs.push_back(out.meta);
  }

  Manifest base;
  SequenceNumber oldest_snapshot;
  {
    MutexLock lock(&mu_);
    base = manifest_;
    oldest_snapshot = OldestSnapshotLocked();
  }
  const uint64_t epoch = epoch_;
  auto committed = CommitAsWriter(
      base, "compaction",
      [&](const Manifest&) {
        return spec.deadline_micros != 0 && clock_->MonotonicMicros() > spec.deadline_micros;
      },
      "compaction " + spec.ToString(),
      [&](const Manifest& latest, Manifest* next) -> Status {
        RETURN_IF_ERROR(ApplyCompactionEdit(spec, outputs, latest, next));
        next->set_oldest_snapshot_seq(oldest_snapshot);
        return Status::OK();
      });
  if (!committed.ok()) {
    // The outputs stay in the store as orphans; GC deletes them after gc_min_age.
    compactions_failed_++;
    if (IsCompactionConflict(committed.status())) {
      // Another committer (a separate compactor) changed the levels: install the latest
      // manifest, so that the next pick does not choose the same stale inputs again.
      auto latest = manifests_->LoadLatest(base.version());
      if (latest.ok() && latest->writer_epoch() == epoch) {
        auto version = sst_cache_->BuildVersion(*latest);
        if (version.ok()) {
          MutexLock lock(&mu_);
          InstallLocked(*latest, std::move(version).value());
        }
      }
    }
    return committed.status().WithContext("committing compaction " + spec.ToString());
  }
  ASSIGN_OR_RETURN(auto version, sst_cache_->BuildVersion(*committed));
  {
    MutexLock lock(&mu_);
    InstallLocked(*committed, std::move(version));
  }
  // Readers of SSTs no longer referenced are closed once the last Version using them is gone
  // (and their blocks leave the block cache, which makes room for the outputs').
  sst_cache_->Retain(*committed);
  // Retired inputs leave the disk cache (a reader of an older Version still reading them
  // fetches from the store until GC deletes them). A trivial move retires nothing.
  if (disk_cache_ != nullptr && !spec.trivial_move) {
    const std::string store_id = store_->Describe();
    for (const auto& meta : spec.inputs) disk_cache_->EraseObject(store_id, meta.object_key());
    for (const auto& meta : spec.overlaps) disk_cache_->EraseObject(store_id, meta.object_key());
  }
  for (auto& out : result->outputs) {
    if (out.retained != nullptr) out.reader->Prepopulate(*out.retained);
    out.retained.reset();
  }
  compactions_++;
  if (spec.trivial_move) trivial_moves_++;
  compaction_bytes_read_ += result->bytes_read;
  compaction_bytes_written_ += result->bytes_written;
  compaction_micros_ += clock_->MonotonicMicros() - start;
  LOG_INFO("{}: compaction {} committed as manifest {}: {} outputs, {} -> {} bytes", url_,
           spec.ToString(), committed->version(), outputs.size(), result->bytes_read,
           result->bytes_written);
  return Status::OK();
}

void DBImpl::CompactionLoop() {
  MutexLock lock(&mu_);
  int failures = 0;
  while (!closing_) {
    std::optional<CompactionSpec> spec;
    if (bg_error_.ok() && !manual_compaction_ && !compaction_running_) {
      spec = PickCompaction(manifest_, options_);
    }
    if (!spec) {
      compaction_cv_.WaitFor(&mu_, std::chrono::seconds(1));
      continue;
    }
    PrepareSpecLocked(&*spec);
    compaction_running_ = true;
    lock.Unlock();
    Status s = RunCompaction(*spec);
    lock.Lock();
    compaction_running_ = false;
    compaction_cv_.SignalAll();
    if (s.ok()) {
      failures = 0;
      continue;
    }
    if (s.IsFenced()) {
      SetBgErrorLocked(s);
      stall_cv_.SignalAll();
      continue;
    }
    if (closing_) break;
    // A lost race with another committer is retried soon with a fresh pick (RunCompaction
    // installed the latest manifest); anything else backs off (the store may be failing)
    // without stopping the writer.
    if (IsCompactionConflict(s)) {
      compaction_cv_.WaitFor(&mu_, std::chrono::milliseconds(10));
    } else {
      failures++;
      LOG_WARN("{}: {}", url_, s.ToString());
      compaction_cv_.WaitFor(&mu_, std::chrono::milliseconds(std::min(100 * failures, 5000)));
    }
  }
}

Status DBImpl::CompactAll() {
  RETURN_IF_ERROR(Flush());
  {
    MutexLock lock(&mu_);
    while (compaction_running_ || manual_compaction_) compaction_cv_.Wait(&mu_);
    RETURN_IF_ERROR(CheckWritable());
    manual_compaction_ = true;
    compaction_running_ = true;
  }
  Status result;
  bool last_level_rewritten = false;
  int num_levels;
  {
    MutexLock lock(&mu_);
    num_levels = EffectiveNumLevels(manifest_, options_);
  }
  for (int level = 0; level < num_levels && result.ok(); level++) {
    const bool last = level == num_levels - 1;
    if (last && last_level_rewritten) break;
    // A lost race (another committer moved an input) is retried with a fresh pick.
    for (int attempt = 0; attempt < 8; attempt++) {
      std::optional<CompactionSpec> spec;
      {
        MutexLock lock(&mu_);
        // Everything already in the last level is rewritten in place, so that what no snapshot
        // needs any more (old versions, tombstones) is gone afterwards.
        spec = last ? PickLastLevelRewrite(manifest_, options_)
                    : PickWholeLevel(manifest_, options_, level);
        if (spec) PrepareSpecLocked(&*spec);
      }
      if (!spec) break;
      result = RunCompaction(*spec);
      if (result.ok() && spec->output_level == num_levels - 1 && !spec->trivial_move) {
        last_level_rewritten = true;
      }
      if (!IsCompactionConflict(result)) break;
    }
  }
  MutexLock lock(&mu_);
  manual_compaction_ = false;
  compaction_running_ = false;
  compaction_cv_.SignalAll();
  return result;
}

}  // namespace cloudkv
